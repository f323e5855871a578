"""tail-logs --from on a damaged capture (--skip-bad-lines), and the redaction options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rpcctl.errors import UsageError
from tests.support.cli import run_cli

HEADER = {"format": "rpcctl-capture", "version": 1}
START = {"t": 0.1, "call": "c1", "event": "start", "method": "/x.Y/Z", "headers": [["a", "b"]]}
END = {"t": 0.2, "call": "c1", "event": "end", "method": "/x.Y/Z", "code": 0, "message": ""}


def _capture(tmp_path: Path, *middle: bytes) -> Path:
    path = tmp_path / "c.jsonl"
    lines = [json.dumps(HEADER).encode(), json.dumps(START).encode(), *middle, json.dumps(END).encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            json.dumps({"t": 0.15, "call": "c1", "event": "response", "raw": 123}).encode(),
            "raw is not a string",
        ),
        (
            json.dumps({"t": 0.15, "call": "c1", "event": "start", "headers": 5}).encode(),
            "headers is not a list",
        ),
        (b'{"t": 0.15, "call": "c1", "eve', "is not valid JSON"),
        (b"[" * 50_000, "is not valid JSON"),
    ],
)
def test_bad_line_is_named_and_skip_bad_lines_goes_on(tmp_path: Path, line: bytes, problem: str) -> None:
    path = _capture(tmp_path, line)
    result = run_cli("tail-logs", "--from", str(path), "--headless")
    assert result.exit_code == 2, result.stderr
    assert "line 3" in result.stderr and problem in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    skipped = run_cli("tail-logs", "--from", str(path), "--headless", "--skip-bad-lines")
    assert skipped.exit_code == 0, skipped.stderr
    assert "1 calls" in skipped.stdout or "1 call" in skipped.stdout


def test_redaction_options() -> None:
    from rpcctl.cli.tail_logs import _redaction
    from rpcctl.proxy.redact import REDACTED, Redactor

    assert _redaction(False, [], []) is True
    assert _redaction(True, [], []) is False
    redactor = _redaction(False, ["X-Tenant"], ["content.env.PASS"])
    assert isinstance(redactor, Redactor)
    assert redactor.headers([["x-tenant", "acme"]]) == [["x-tenant", REDACTED]]
    with pytest.raises(UsageError):
        _redaction(True, ["x-tenant"], [])
    with pytest.raises(UsageError):
        _redaction(False, [], ["a..b"])


def test_replay_names_a_bad_line_and_skip_bad_lines_goes_on(tmp_path: Path) -> None:
    import asyncio

    from tests.runner.replay_support import record, task_shape, threaded_stand_in
    from tests.runner.test_replay_cli import run_replay
    from tests.support.schema import compile_runner_schema

    schema = compile_runner_schema()
    recording = asyncio.run(record(schema, tmp_path / "capture.jsonl", [task_shape()]))
    lines = recording.path.read_bytes().splitlines(keepends=True)
    recording.path.write_bytes(
        b"".join([*lines[:3], b'{"t": 1, "call": "x", "event": "end", "code": "3"}\n', *lines[3:]])
    )
    with threaded_stand_in(schema, [task_shape()]) as target:
        failed = run_replay(str(recording.path), "--target", target.server.url, "--speed", "max")
        assert failed.exit_code == 2, failed.stderr
        assert "line 4: code is not an integer" in failed.stderr
        result = run_replay(
            str(recording.path), "--target", target.server.url, "--speed", "max", "--skip-bad-lines"
        )
    assert result.exit_code == 0, result.stderr
    assert result.json["ok"]
