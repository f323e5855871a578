"""Start-up: `rpcctl --help` loads no heavy library, and the installed console script works."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import GrpcServer


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from rpcctl.cli.app import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('grpc', 'httpx', 'textual', 'h2', 'google.protobuf') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "command", ["call", "list", "describe", "serve", "tail-logs", "replay", "bench", "demo"]
)
def test_command_help_does_not_import_heavy_libraries(command: str) -> None:
    code = (
        "import sys\n"
        "from rpcctl.cli.app import main\n"
        "try:\n"
        f"    main(['{command}', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print([m for m in ('grpc', 'httpx', 'textual') if m in sys.modules], file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_installed_console_script(grpc_server: GrpcServer) -> None:
    exe = shutil.which("rpcctl")
    assert exe is not None, "the rpcctl console script is not installed (pip install -e .)"
    result = subprocess.run(
        [exe, "call", grpc_server.target, "Echo", "--protocol", "grpc", "-d", '{"message": "sub"}'],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["message"] == "sub"
    # The echo server lists the request metadata it saw: rpcctl's own client, not grpcio's.
    assert any(h.startswith("user-agent: rpcctl/") for h in answer["headers"]), answer["headers"]


def test_python_dash_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rpcctl", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.startswith("rpcctl ")


def test_interrupt_exits_130(grpc_server: GrpcServer) -> None:
    import signal
    import time

    exe = shutil.which("rpcctl")
    assert exe is not None
    proc = subprocess.Popen(
        [exe, "call", grpc_server.target, "Chat", "--protocol", "grpc", "-d", "@-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write('{"message": "first"}\n')
    proc.stdin.flush()
    first = proc.stdout.readline()
    assert json.loads(first)["message"] == "first"
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 130, err
    assert "Traceback" not in err
