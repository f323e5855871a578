"""`rpcctl serve` in a subprocess: the ready line, calls against it, signals and bad input."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_cli

DATA = Path(__file__).parent / "data"
READY = re.compile(r"^serving pkg\.proto\.runner\.v1\.RunnerService on (\S+) \(connect, grpc, grpc-web\)$")
# Until `serve` is registered in rpcctl/cli/app.py, the subprocess registers it itself.
SHIM = (
    "from rpcctl.cli.app import app, main; from rpcctl.cli.serve import serve_command; "
    "app.command('serve')(serve_command); main()"
)


def _argv(*args: str) -> list[str]:
    from rpcctl.cli.app import app

    registered = any(command.name == "serve" for command in app.registered_commands)
    prefix = ["-m", "rpcctl"] if registered else ["-c", SHIM]
    return [sys.executable, *prefix, "serve", *args]


class Serving:
    """A running `rpcctl serve` and the URL it announced."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(_argv(*args), stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(self.process.stderr.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(60)
        line = first[0].rstrip("\n") if first else ""
        match = READY.match(line)
        if match is None:
            self.stop(signal.SIGKILL)
            raise AssertionError(f"no ready line, got {line!r}")
        self.line = line
        self.url = match.group(1)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(signum)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # Not communicate(): it reads the pipe's descriptor and misses what readline buffered.
        assert self.process.stderr is not None
        rest = self.process.stderr.read()
        self.process.stderr.close()
        return self.process.returncode, rest


@pytest.fixture
def served() -> Iterator[Serving]:
    serving = Serving(
        "--listen", "127.0.0.1:0", "--prefix", "/api/v1/pipeline", "--tasks", str(DATA / "tasks.json")
    )
    yield serving
    if serving.process.poll() is None:
        serving.stop(signal.SIGKILL)


# The reflection client sends proto bytes on a JSON-codec Connect/gRPC-Web stream (the
# server answers INTERNAL), so these calls use the bundled schema; reflection is covered
# over native gRPC below.
NO_REFLECT = "--no-reflect"


def test_serve_answers_calls_then_exits_0_on_sigterm(served: Serving) -> None:
    assert re.match(r"^http://127\.0\.0\.1:\d+/api/v1/pipeline$", served.url)
    for protocol in ("connect", "grpc-web"):
        result = run_cli(
            "call",
            served.url,
            "RunnerService/Ping",
            "--protocol",
            protocol,
            NO_REFLECT,
            "-d",
            '{"data":"hi"}',
        )
        assert (result.exit_code, result.json) == (0, {"data": "hi"}), result.stderr
    register = run_cli("call", served.url, "Register", NO_REFLECT, "-d", '{"name":"r","labels":["linux"]}')
    runner = register.json["runner"]
    assert runner["id"] == "1" and runner["token"]
    fetch = run_cli("call", served.url, "FetchTask", NO_REFLECT, "-d", json.dumps({"token": runner["token"]}))
    content = json.loads(fetch.json["content"])
    assert content["tx_uuid"] == "3b0c6d1e-0000-4000-8000-000000000001"
    bad = run_cli("call", served.url, "Declare", NO_REFLECT, "-d", '{"token":"nope"}')
    assert bad.exit_code == 64 + 16 and "unknown runner token" in bad.stderr
    code, rest = served.stop()
    assert (code, rest) == (0, "")


def test_native_grpc_call_behind_a_prefix(served: Serving) -> None:
    result = run_cli("call", served.url, "RunnerService/Ping", "--protocol", "grpc", "-d", '{"data":"hi"}')
    assert (result.exit_code, result.json) == (0, {"data": "hi"}), result.stderr


def test_native_grpc_call_without_prefix() -> None:
    serving = Serving("--listen", "127.0.0.1:0", "-v")
    try:
        result = run_cli(
            "call", serving.url, "RunnerService/Ping", "--protocol", "grpc", "-d", '{"data":"hi"}'
        )
        assert (result.exit_code, result.json) == (0, {"data": "hi"}), result.stderr
        listed = run_cli("list", serving.url, "--protocol", "grpc")
        assert listed.stdout.split() == ["grpc.health.v1.Health", "pkg.proto.runner.v1.RunnerService"]
    finally:
        code, rest = serving.stop()
    assert code == 0
    lines = rest.splitlines()
    assert lines[0] == "0 task(s) queued"
    assert any(
        re.fullmatch(r"/pkg\.proto\.runner\.v1\.RunnerService/Ping OK \d+\.\dms", line) for line in lines
    )


def test_ctrl_c_exits_130() -> None:
    serving = Serving("--listen", "127.0.0.1:0")
    code, rest = serving.stop(signal.SIGINT)
    assert (code, rest) == (130, "interrupted\n")


def test_port_in_use_exits_1_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            _argv("--listen", f"127.0.0.1:{port}"), capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--listen", "127.0.0.1:http"], "error: invalid listen address '127.0.0.1:http': bad port 'http'\n"),
        (
            ["--listen", "127.0.0.1:0", "--tasks", "/nonexistent/tasks.json"],
            "error: cannot read tasks file /nonexistent/tasks.json: No such file or directory\n",
        ),
        (["--listen", "127.0.0.1:0", "--cert", "/x.pem"], "error: --cert and --key go together\n"),
    ],
)
def test_bad_input_exits_2(args: list[str], expected: str) -> None:
    done = subprocess.run(_argv(*args), capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (2, expected)


UNKNOWN_TASK = json.dumps({"tx_uuid": "0d7e5a3c-0000-4000-8000-00000000abcd", "index": 0, "rows": ["a", "b"]})


@pytest.mark.parametrize(("strict", "expected"), [((), 0), (("--strict",), 64 + 5)])
def test_a_task_it_did_not_hand_out_is_adopted_unless_strict(strict: tuple[str, ...], expected: int) -> None:
    serving = Serving("--listen", "127.0.0.1:0", *strict)
    try:
        result = run_cli("call", serving.url, "UpdateLog", NO_REFLECT, "-d", UNKNOWN_TASK)
    finally:
        code, _ = serving.stop()
    assert (code, result.exit_code) == (0, expected), result.stderr
    if strict:
        assert "NOT_FOUND" in result.stderr and "was handed out" in result.stderr
    else:
        assert result.json == {"ackIndex": "2"}
