"""Ctrl-C during a call that waits for a silent server ends the call at once with exit 130.

The server is a TCP listener that accepts and never answers; the call's deadline (60 s) is
far beyond the bound the test allows, so only the interrupt can end it in time.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import TEST_PROTO, TEST_PROTO_DIR


@pytest.mark.parametrize(
    "transport", [["--http1"], ["--http2"], ["--protocol", "grpc"], ["--protocol", "grpc-web", "--http1"]]
)
def test_ctrl_c_ends_a_call_waiting_for_headers(silent_port: int, transport: list[str]) -> None:
    client = subprocess.Popen(
        [sys.executable, "-m", "rpcctl", "call", f"http://127.0.0.1:{silent_port}",
         "rpcctl.test.v1.TestService/Echo", "--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_DIR),
         "--timeout", "60s", *transport],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _connected(silent_port, client.pid):
            time.sleep(0.05)
        time.sleep(0.3)  # the request is out; the call awaits the response headers
        client.send_signal(signal.SIGINT)
        _, stderr = client.communicate(timeout=20)  # far less than the 60 s deadline
    finally:
        client.kill()
        client.wait(10)
    assert client.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"


def _connected(port: int, pid: int) -> bool:
    """Whether process `pid` holds a TCP connection to 127.0.0.1:`port` (from /proc/net/tcp)."""
    import os

    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return False
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            if state == "01" and int(remote.split(":")[1], 16) == port and inode in inodes:
                return True
    return False
