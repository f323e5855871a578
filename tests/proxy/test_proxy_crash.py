"""Killing a recording proxy process mid-stream leaves a capture readable to its last complete line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from rpcctl.call_events import EventKind
from rpcctl.proxy.capture import iter_events, read_capture
from tests.support.schema import REPO_ROOT


def _msg(schema: Any, name: str, **fields: Any) -> Any:
    return schema.message_class(schema.pool.FindMessageTypeByName(f"rpcctl.test.v1.{name}"))(**fields)


@pytest.mark.slow
def test_sigkill_mid_stream(grpc_server: Any, test_schema: Any, tmp_path: Path) -> None:
    capture = tmp_path / "crash.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.proxy.proxy_process", grpc_server.target, str(capture)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        port = json.loads(proc.stdout.readline())["port"]
        request = _msg(test_schema, "CountRequest", count=1000, interval_ms=20).SerializeToString()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stream = channel.unary_stream("/rpcctl.test.v1.TestService/Count")(request)
            received = [next(stream) for _ in range(5)]
            time.sleep(0.2)  # let the recorder catch up with what was already relayed
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            with pytest.raises(grpc.RpcError):
                for _ in stream:
                    pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert len(received) == 5
    assert read_capture(capture).schema is not None
    events = list(iter_events(capture))
    kinds = [e.kind for e in events]
    assert kinds[:2] == [EventKind.START, EventKind.REQUEST]
    assert EventKind.END not in kinds
    responses = [e.message["n"] for e in events if e.kind is EventKind.RESPONSE]
    assert len(responses) >= 5
    assert responses == list(range(1, len(responses) + 1))
    # Cut the file anywhere inside its last line: still readable up to the line before.
    data = capture.read_bytes()
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    capture.write_bytes(data[: len(data) - len(last) // 2 - 1])
    assert len(list(iter_events(capture))) == len(events) - 1
