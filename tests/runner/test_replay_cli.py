"""`rpcctl replay` in-process: summary output, progress lines and exit statuses."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
import typer

from rpcctl.cli.env import Environment
from rpcctl.cli.helptext import HelpfulCommand
from rpcctl.cli.replay import replay_command
from rpcctl.errors import UsageError
from rpcctl.runner.replay import parse_speed
from rpcctl.schema.registry import Schema
from tests.runner.replay_support import Recording, record, retarget, task_shape, threaded_stand_in
from tests.support.cli import CliResult


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    app.command("replay", cls=HelpfulCommand)(replay_command)  # as rpcctl.cli.app builds it

    @app.callback()
    def _root() -> None:
        """rpcctl (test app)."""

    return app


def run_replay(*args: str, tty: bool = False) -> CliResult:
    """`rpcctl replay ARGS…` on a local typer app, like tests.support.cli.run_cli."""
    stdout, stderr = io.StringIO(), io.StringIO()
    env = Environment(
        stdin=io.BytesIO(),
        stdout=stdout,
        stderr=stderr,
        stdin_isatty=False,
        stdout_isatty=tty,
        stderr_isatty=False,
    )
    code = 0
    try:
        _app()(args=["replay", *args], prog_name="rpcctl", obj=env)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def recording(runner_schema: Schema, tmp_path: Path) -> Recording:
    return asyncio.run(record(runner_schema, tmp_path / "capture.jsonl", [task_shape()]))


def test_replay_piped_prints_one_json_summary(runner_schema: Schema, recording: Recording) -> None:
    recorded_tx = recording.tasks[0].tx_uuid
    target_task = task_shape()
    with threaded_stand_in(runner_schema, [target_task]) as target:
        result = run_replay(str(recording.path), "--target", target.server.url, "--speed", "max", "-v")
        rows = target.service.rows(target_task.tx_uuid)
    assert result.exit_code == 0, result.stderr
    summary = result.json
    assert summary["ok"] and summary["rows"] == 8 * 23 and summary["ack_mismatches"] == 0
    assert summary["tasks"] == {recorded_tx: [target_task.tx_uuid]}
    assert rows == retarget(recording.sent(recorded_tx), target_task.tx_uuid)
    assert f"task {recorded_tx} -> {target_task.tx_uuid}" in result.stderr
    assert "UpdateLog OK" in result.stderr  # -v: one line per call


def test_replay_on_a_tty_prints_the_human_summary(runner_schema: Schema, recording: Recording) -> None:
    with threaded_stand_in(runner_schema, [task_shape(), task_shape()]) as target:
        result = run_replay(
            str(recording.path),
            "--target",
            target.server.url,
            "--speed",
            "10",
            "--runners",
            "2",
            "--protocol",
            "grpc-web",
            tty=True,
        )
    assert result.exit_code == 0, result.stderr
    assert "as 2 runner(s)" in result.stdout and result.stdout.rstrip().endswith("OK")
    assert f"rows {2 * 8 * 23} (0 resent)" in result.stdout


def test_json_flag_on_a_tty(runner_schema: Schema, recording: Recording) -> None:
    with threaded_stand_in(runner_schema, [task_shape()]) as target:
        result = run_replay(
            str(recording.path), "-t", target.server.url, "--speed", "max", "--json", tty=True
        )
    assert result.exit_code == 0 and result.json["ok"]


def test_errors_exit_1(runner_schema: Schema, recording: Recording) -> None:
    with threaded_stand_in(runner_schema) as target:  # no task to hand out
        result = run_replay(str(recording.path), "--target", target.server.url, "--speed", "max")
    assert result.exit_code == 1
    assert not result.json["ok"] and result.json["errors"] == 1


def test_unreachable_target_exits_1(recording: Recording) -> None:
    result = run_replay(str(recording.path), "--target", "http://127.0.0.1:9", "--speed", "max")
    assert result.exit_code == 1 and result.json["errors"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tx", "nope"], "not in the capture"),
        (["--speed", "fast"], "invalid speed"),
        (["--runners", "0"], "--runners"),
        (["--protocol", "carrier-pigeon"], "unknown protocol"),
    ],
)
def test_usage_errors_exit_2(recording: Recording, args: list[str], message: str) -> None:
    result = run_replay(str(recording.path), "--target", "http://127.0.0.1:9", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_capture_exits_2(tmp_path: Path) -> None:
    missing = run_replay(str(tmp_path / "missing.jsonl"), "--target", "http://127.0.0.1:9")
    (tmp_path / "bad.jsonl").write_text("hello\n")
    bad = run_replay(str(tmp_path / "bad.jsonl"), "--target", "http://127.0.0.1:9")
    assert missing.exit_code == bad.exit_code == 2
    assert "cannot read capture" in missing.stderr and "not an rpcctl capture" in bad.stderr


def test_capture_without_runner_sessions_exits_2(tmp_path: Path) -> None:
    from rpcctl.call_events import CallEvent, EventKind
    from rpcctl.proxy.capture import CaptureWriter

    path = tmp_path / "ping-only.jsonl"
    ping = "/pkg.proto.runner.v1.RunnerService/Ping"
    with CaptureWriter(path) as writer:
        writer.write(CallEvent(EventKind.START, "c1", ping, info={"protocol": "connect", "codec": "json"}))
        writer.write(CallEvent(EventKind.REQUEST, "c1", ping, message={"data": "x"}))
        writer.write(CallEvent(EventKind.END, "c1", ping, info={"code": 0}))
    result = run_replay(str(path), "--target", "http://127.0.0.1:9")
    assert result.exit_code == 2, result.stderr
    assert "no runner session" in result.stderr


def test_parse_speed() -> None:
    assert parse_speed("max") is None and parse_speed("10") == 10.0 and parse_speed("0.5") == 0.5
    for bad in ("0", "-1", "fast", "inf", "nan"):
        with pytest.raises(UsageError):
            parse_speed(bad)
