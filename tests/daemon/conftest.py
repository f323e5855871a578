"""A daemon of its own per test ($RPCCTL_DAEMON_DIR in its tmp_path), started with the real
`rpcctl daemon start` and stopped at the end."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

RPCCTL = [sys.executable, "-m", "rpcctl"]
ECHO = "rpcctl.test.v1.TestService/Echo"


def limited(command: list[str], *, fsize: int | None = None, nice: int = 0) -> list[str]:
    """`command` under a file-size limit (bytes) and a nice increment, set by a small Python
    that then execs it. Not `preexec_fn`: that forks the test process, where grpcio's fork
    handlers may write to the child's stderr before the exec."""
    code = (
        "import os, resource, sys\n"
        f"if {fsize!r} is not None:\n"
        f"    resource.setrlimit(resource.RLIMIT_FSIZE, ({fsize!r}, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))\n"
        f"os.nice({nice})\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n"
    )
    return [sys.executable, "-c", code, *command]


class Daemon:
    """A daemon in its own directory, and the environment that reaches it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = {k: v for k, v in os.environ.items() if k != "RPCCTL_DAEMON"}
        self.env["RPCCTL_DAEMON_DIR"] = str(directory)

    def run(self, *args: str, daemon: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
        env = dict(self.env) if daemon else dict(self.env, RPCCTL_DAEMON="off")
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            [*RPCCTL, *args], capture_output=True, text=True, timeout=60, env=env, **kwargs
        )

    def status(self) -> dict[str, str]:
        result = self.run("daemon", "status", daemon=False)
        return dict(re.findall(r"(\w+)=(\S+)", result.stdout)) if result.returncode == 0 else {}

    def served(self) -> int:
        return int(self.status().get("served", "-1"))


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    directory = tmp_path / "d"
    directory.mkdir(mode=0o700)
    running = Daemon(directory)
    started = running.run("daemon", "start", "--idle", "2m", daemon=False)
    assert started.returncode == 0, started.stderr
    pid = int(running.status()["pid"])
    try:
        yield running
    finally:
        running.run("daemon", "stop", daemon=False)
        wait_gone(pid)


def wait_gone(pid: int, limit: float = 15.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    pytest.fail(f"daemon {pid} still running {limit}s after stop")


def wait_for(condition: object, limit: float = 20.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    pytest.fail(f"not within {limit}s")


def socket_of(directory: Path) -> str:
    """The one daemon socket in `directory`."""
    (path,) = (str(p) for p in directory.iterdir() if p.suffix == ".sock")
    return path


def children(pid: int) -> list[int]:
    """The processes `pid` has forked and not yet reaped (its workers)."""
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listing:
            found += [int(child) for child in listing.read().split()]
    return found


def state(pid: int) -> str:
    """The one-letter state of `pid` in /proc (R, S, T for stopped, Z for a zombie; "" when gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return ""


def echo(target: str, message: str, delay_ms: int = 0) -> tuple[str, ...]:
    """The arguments of a gRPC Echo call of `message`, answered after `delay_ms`."""
    data = {"message": message, "delayMs": delay_ms} if delay_ms else {"message": message}
    return ("call", target, ECHO, "--protocol", "grpc", "-d", json.dumps(data))
