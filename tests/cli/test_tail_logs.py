"""`rpcctl tail-logs` (headless) in its three modes, and `rpcctl demo`."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import run_cli

READY = re.compile(r"listening on (\S+)")


def test_demo_headless_summary() -> None:
    result = run_cli("demo", "--rows", "20", "--rows-per-sec", "400")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    summary = next(line for line in lines if line.startswith("summary:"))
    assert "3 runners, 3 tasks" in summary
    assert "0 gaps" in summary and "0 errors" in summary
    assert any(line.endswith("state failure | simulated failure") for line in lines)
    assert any(" task cancelled " in line for line in lines)
    assert any(re.search(r" 0/0/0 #19 \| ", line) for line in lines)


def test_demo_over_grpc() -> None:
    result = run_cli("demo", "--runners", "1", "--rows", "5", "--rows-per-sec", "500", "--protocol", "grpc")
    assert result.exit_code == 0, result.stderr
    assert "1 runners, 1 tasks" in result.stdout or "1 runner, 1 task" in result.stdout


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rpcctl", "tail-logs", "--headless", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = READY.search(line)
    if match is None:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"no ready line: {line!r} {err!r}")
    return proc, match.group(1)


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err


def _run_runner(url: str, *extra: str) -> None:
    code = (
        "import asyncio, sys\n"
        "from rpcctl.cli.options import channel_settings\n"
        "from rpcctl.runner.simulator import RunnerOptions, SimulatedRunner\n"
        "from rpcctl.schema.registry import Schema\n"
        "from rpcctl.schema.sources import bundled_files\n"
        "from rpcctl.client import open_channel\n"
        "async def main():\n"
        "    ch = open_channel(channel_settings(sys.argv[1]))\n"
        "    try:\n"
        "        s = await SimulatedRunner(ch, Schema(bundled_files()), options=RunnerOptions(rows_per_action=7, fetch_attempts=3)).run()\n"
        "    finally:\n"
        "        await ch.aclose()\n"
        "    assert s.ok, s.last_error\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", code, url], check=True, timeout=60)


def _tasks_file(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.json"
    task = {
        "tx_uuid": "11111111-2222-3333-4444-555555555555",
        "stages": [{"name": "build", "steps": [{"name": "make", "actions": [{"name": "run"}]}]}],
    }
    path.write_text(json.dumps([task]))
    return path


def test_standin_mode_records_and_summarises(tmp_path: Path) -> None:
    capture = tmp_path / "cap.jsonl"
    proc, url = _start(
        "--listen", "127.0.0.1:0", "--tasks", str(_tasks_file(tmp_path)), "--record", str(capture)
    )
    try:
        _run_runner(url)
    finally:
        code, out, err = _stop(proc)
    assert code == 0, err
    assert "11111111-2222-3333-4444-555555555555 0/0/0 #6 | " in out
    assert "summary:" in out and "0 gaps" in out
    # the capture replays offline to the same rows
    offline = run_cli("tail-logs", "--from", str(capture))
    assert offline.exit_code == 0, offline.stderr
    rows = [line for line in out.splitlines() if " #" in line and " | " in line]
    assert rows == [line for line in offline.stdout.splitlines() if " #" in line and " | " in line]


def _through_proxy(tmp_path: Path, proxy_args: tuple[str, ...], *upstream_args: str) -> tuple[int, str, str]:
    """A runner session through a tail-logs proxy in front of a stand-in; the proxy's exit, out, err."""
    upstream, upstream_url = _start(
        "--listen", "127.0.0.1:0", "--tasks", str(_tasks_file(tmp_path)), *upstream_args
    )
    try:
        proxy, proxy_url = _start("--listen", "127.0.0.1:0", "--upstream", upstream_url, *proxy_args)
        try:
            _run_runner(proxy_url)
        finally:
            result = _stop(proxy)
    finally:
        _stop(upstream)
    return result


def test_proxy_mode_forwards_to_the_upstream(tmp_path: Path) -> None:
    code, out, err = _through_proxy(tmp_path, ())
    assert code == 0, err
    assert "0/0/0 #6 | " in out
    assert "1 runner" in out


def test_from_a_file_that_is_not_a_capture(tmp_path: Path) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text("hello\n")
    result = run_cli("tail-logs", "--from", str(bad))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_needs_a_mode() -> None:
    result = run_cli("tail-logs")
    assert result.exit_code == 2
    assert "--listen" in result.stderr


def _update_log(url: str, tx: str) -> subprocess.CompletedProcess[str]:
    request = json.dumps({"txUuid": tx, "index": "0", "rows": ["already running"]})
    return subprocess.run(
        [sys.executable, "-m", "rpcctl", "call", url, "UpdateLog", "-d", request, "--timeout", "20s"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_standin_adopts_a_task_it_did_not_hand_out(tmp_path: Path) -> None:
    tx = "99999999-2222-3333-4444-555555555555"
    capture = tmp_path / "cap.jsonl"
    proc, url = _start("--listen", "127.0.0.1:0", "--record", str(capture))
    try:
        answer = _update_log(url, tx)
    finally:
        code, out, err = _stop(proc)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout) == {"ackIndex": "1"}
    assert code == 0, err
    assert f"{tx} 0/0/0 #0 | already running" in out
    # the capture remembers the adoption (a trailer), so the offline view marks the task
    from rpcctl.proxy.capture import iter_events
    from rpcctl.runner.logmodel import LogModel

    model = LogModel()
    model.ingest_many(iter_events(capture))
    assert model.tasks[tx].adopted


def test_standin_strict_refuses_a_task_it_did_not_hand_out() -> None:
    proc, url = _start("--listen", "127.0.0.1:0", "--strict")
    try:
        answer = _update_log(url, "99999999-2222-3333-4444-555555555555")
    finally:
        code, _, err = _stop(proc)
    assert code == 0, err
    assert answer.returncode == 64 + 5, answer.stderr  # NOT_FOUND
    assert "was handed out" in answer.stderr


def _capture_rows(capture: Path) -> int:
    """Rows of the UpdateLog calls that ended OK in a capture."""
    rows: dict[str, int] = {}
    ok: set[str] = set()
    with capture.open(encoding="utf-8") as lines:
        next(lines)
        for line in lines:
            event = json.loads(line)
            if not event["method"].endswith("/UpdateLog"):
                continue
            if event["event"] == "request":
                rows[event["call"]] = len(event["message"].get("rows", []))
            elif event["event"] == "end" and event["code"] == 0:
                ok.add(event["call"])
    return sum(count for call, count in rows.items() if call in ok)


def _python(*argv: str) -> subprocess.Popen[str]:
    """`python ARGV…` with its stdout and stderr piped (text)."""
    return subprocess.Popen(
        [sys.executable, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("http", ["http1", "h2c"])
def test_sigterm_drains_every_acknowledged_row_into_the_summary(tmp_path: Path, http: str) -> None:
    capture = tmp_path / "cap.jsonl"
    proc, url = _start("--listen", "127.0.0.1:0", "--record", str(capture))
    writers = _python(str(Path(__file__).with_name("drain_writers.py")), url, "50", "400", http)
    try:
        assert writers.stdout is not None
        assert writers.stdout.readline().strip() == "started"
    finally:
        code, out, err = _stop(proc)  # SIGTERM while 50 writers are mid-flight
        written, werr = writers.communicate(timeout=60)
    assert code == 0, err
    assert writers.returncode == 0, werr
    acknowledged = json.loads(written.splitlines()[-1])["acknowledged"]
    summary = next(line for line in out.splitlines() if line.startswith("summary:"))
    shown = int(re.search(r"(\d+) rows", summary).group(1))  # type: ignore[union-attr]
    assert acknowledged > 0
    assert (acknowledged, _capture_rows(capture)) == (shown, shown), werr


def test_proxy_adds_upstream_headers(tmp_path: Path) -> None:
    seen = tmp_path / "upstream.jsonl"
    added = ("--upstream-http1", "--upstream-header", "X-Ci-Tenant: blue", "--upstream-header", "x-trace: 7")
    code, _, err = _through_proxy(tmp_path, added, "--record", str(seen), "--no-redact")
    assert code == 0, err
    starts = [json.loads(line) for line in seen.read_text().splitlines()[1:]]
    headers = [dict(map(tuple, e["headers"])) for e in starts if e["event"] == "start"]
    assert headers and all(h.get("x-ci-tenant") == "blue" and h.get("x-trace") == "7" for h in headers)


def test_upstream_options_need_an_upstream() -> None:
    result = run_cli("tail-logs", "--listen", "127.0.0.1:0", "--upstream-insecure")
    assert result.exit_code == 2
    assert "need --upstream URL" in result.stderr
    bad = run_cli(
        "tail-logs",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        "http://127.0.0.1:1",
        "--upstream-header",
        "nocolon",
    )
    assert bad.exit_code == 2 and "expected 'NAME: VALUE'" in bad.stderr


DEMO = ["demo", "--headless", "--runners", "5", "--rows", "100000", "--rows-per-sec", "1000"]
ALT_SCREEN_ON, ALT_SCREEN_OFF = b"\x1b[?1049h", b"\x1b[?1049l"  # xterm's alternate screen
DEMO_ROW = re.compile(r"^\S+ \d+/\d+\.?\d*/\d+ #\d+ \| ")


@pytest.mark.parametrize("protocol", ["connect", "grpc"])  # HTTP/1.1 and h2c
def test_sigterm_drains_the_demo_then_prints_the_summary(protocol: str) -> None:
    demo = _python("-m", "rpcctl", *DEMO, "--protocol", protocol)
    try:
        assert demo.stdout is not None
        first = [demo.stdout.readline() for _ in range(200)]  # rows are arriving: runners mid-flight
        demo.send_signal(signal.SIGTERM)
        rest, err = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert any(DEMO_ROW.match(line) for line in first), first[:5]
    assert (demo.returncode, err) == (0, "")
    summary = next(line for line in rest.splitlines() if line.startswith("summary:"))
    assert "5 runners, 5 tasks" in summary
    assert "0 gaps" in summary and "0 ack mismatches" in summary and "0 errors" in summary


def _read_until(fd: int, marker: bytes, limit_s: float) -> bytes:
    """What the terminal showed until `marker` (or `limit_s` seconds, or the end)."""
    seen = b""
    deadline = time.monotonic() + limit_s
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_sigterm_quits_the_demo_tui_and_gives_the_terminal_back() -> None:
    main, side = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "rpcctl", "demo", "--rows", "100000"],
        stdin=side,
        stdout=side,
        stderr=side,
        env=env,
        close_fds=True,
    )
    os.close(side)
    try:
        assert ALT_SCREEN_ON in _read_until(main, b"demo-runner", 60)  # the TUI is up, runners writing
        demo.send_signal(signal.SIGTERM)
        shown = _read_until(main, ALT_SCREEN_OFF, 60)
        code = demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        os.close(main)
    assert code == 0
    assert ALT_SCREEN_OFF in shown
