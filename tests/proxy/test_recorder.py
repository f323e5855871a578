"""The Recorder: a bus subscription written to a capture from start to stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rpcctl.call_events import CallEvent, EventBus, EventKind
from rpcctl.proxy.capture import iter_events, read_capture
from rpcctl.proxy.recorder import Recorder
from tests.support.schema import compile_runner_schema

METHOD = "/pkg.proto.runner.v1.RunnerService/UpdateLog"


@pytest.mark.asyncio
async def test_records_everything_published_between_start_and_stop(tmp_path: Path) -> None:
    bus = EventBus()
    path = tmp_path / "rec.jsonl"
    bus.publish(CallEvent(EventKind.START, "before", METHOD))
    async with Recorder(bus, path, compile_runner_schema(), extra={"mode": "proxy"}) as recorder:
        for i in range(500):
            bus.publish(CallEvent(EventKind.REQUEST, "c", METHOD, message={"index": str(i), "rows": ["x"]}))
            if i % 100 == 0:
                await asyncio.sleep(0)
        # Published right before stop: still written.
        bus.publish(CallEvent(EventKind.END, "c", METHOD, info={"code": 0}))
    assert recorder.dropped == 0
    capture = read_capture(path)
    assert capture.header["mode"] == "proxy"
    assert capture.schema is not None
    events = list(iter_events(path))
    assert len(events) == 501
    assert [int(e.message["index"]) for e in events[:-1]] == list(range(500))
    assert events[-1].kind is EventKind.END and events[-1].info["status"] == "OK"
    assert all(b >= a for a, b in zip((e.time for e in events), (e.time for e in events[1:]), strict=False))
    # After stop nothing more is written, and stopping twice is harmless.
    bus.publish(CallEvent(EventKind.START, "after", METHOD))
    await recorder.stop()
    assert len(list(iter_events(path))) == 501


@pytest.mark.asyncio
async def test_no_redact(tmp_path: Path) -> None:
    bus = EventBus()
    path = tmp_path / "rec.jsonl"
    async with Recorder(bus, path, redact=False):
        bus.publish(
            CallEvent(EventKind.START, "c", METHOD, info={"headers": [("authorization", "Bearer x")]})
        )
    assert next(iter_events(path)).info["headers"] == [["authorization", "Bearer x"]]
    assert not read_capture(path).redacted


@pytest.mark.asyncio
async def test_start_twice_fails(tmp_path: Path) -> None:
    recorder = Recorder(EventBus(), tmp_path / "r.jsonl")
    recorder.start()
    try:
        with pytest.raises(RuntimeError):
            recorder.start()
    finally:
        await recorder.stop()
