"""Closed or broken standard streams, and Ctrl-C during start-up: one line or silence, never a
traceback (found by the daemon review; cold runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import GrpcServer

RPCCTL = [sys.executable, "-m", "rpcctl"]
ECHO = "rpcctl.test.v1.TestService/Echo"


def _call(grpc_server: GrpcServer) -> list[str]:
    return [*RPCCTL, "call", grpc_server.target, ECHO, "--protocol", "grpc", "-d", '{"message": "x"}']


def test_stdout_whose_reader_is_gone_is_silent(grpc_server: GrpcServer) -> None:
    read, write = os.pipe()
    os.close(read)  # like `| head -c 10` once head has exited
    try:
        result = subprocess.run(
            _call(grpc_server), stdout=write, stderr=subprocess.PIPE, text=True, timeout=60
        )
    finally:
        os.close(write)
    assert result.returncode == 1
    assert result.stderr == ""


def test_closed_stdin_is_an_empty_one(grpc_server: GrpcServer) -> None:
    command = " ".join(f"'{part}'" for part in _call(grpc_server))
    result = subprocess.run(
        ["bash", "-c", f"exec <&-; {command}"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert '"message":"x"' in result.stdout


def test_closed_stdout_is_one_line(grpc_server: GrpcServer) -> None:
    command = " ".join(f"'{part}'" for part in _call(grpc_server))
    result = subprocess.run(
        ["bash", "-c", f"exec >&-; {command}"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr == "error: standard output is closed\n"


def test_ctrl_c_during_start_up_is_one_line(tmp_path: Path, grpc_server: GrpcServer) -> None:
    # Ctrl-C lands while rpcctl imports its call path: a finder raises KeyboardInterrupt there.
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'rpcctl.cli.fastparse':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    result = subprocess.run(_call(grpc_server), capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 130
    assert result.stderr == "interrupted\n"
