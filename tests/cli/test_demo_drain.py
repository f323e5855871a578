"""`rpcctl demo --headless` stopped by SIGTERM while its runners write: drain, summary, exit 0."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

DEMO = ["demo", "--headless", "--runners", "5", "--rows", "100000", "--rows-per-sec", "1000"]
ROW = re.compile(r"^\S+ \d+/\d+\.?\d*/\d+ #\d+ \| ")


@pytest.mark.parametrize("protocol", ["connect", "grpc"])  # HTTP/1.1 and h2c
def test_sigterm_drains_the_demo_then_prints_the_summary(protocol: str) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "rpcctl", *DEMO, "--protocol", protocol],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        first = [demo.stdout.readline() for _ in range(200)]  # rows are arriving: runners mid-flight
        demo.send_signal(signal.SIGTERM)
        rest, err = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert any(ROW.match(line) for line in first), first[:5]
    assert (demo.returncode, err) == (0, "")
    summary = next(line for line in rest.splitlines() if line.startswith("summary:"))
    assert "5 runners, 5 tasks" in summary
    assert "0 gaps" in summary and "0 ack mismatches" in summary and "0 errors" in summary
