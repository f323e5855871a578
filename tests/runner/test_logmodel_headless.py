"""Headless tail-logs: the printed lines for a scripted event sequence, and the run loop."""

from __future__ import annotations

import asyncio

import pytest

from rpcctl.call_events import CallEvent, EventBus
from rpcctl.output.headless import HeadlessPrinter, step_path, summary_lines
from rpcctl.runner.logmodel import LogModel
from rpcctl.runner.tailing import IterableSource, pump, run_headless
from tests.tui.callevents import TX, TX2, Calls


def script() -> list[CallEvent]:
    c = Calls()
    return [
        *c.register("linux-1", "u-1", "tok-1", labels=("linux", "x64")),
        *c.fetch("tok-1", TX),
        *c.task(TX, 0, 0, "running", actions=[(0, "checkout", "running")]),
        *c.log(TX, (0, 0, 0, 0), 0, ["cloning", "done"]),
        *c.log(TX, (0, 0, 0, 0), 5, ["five"]),  # rows 2-4 missing
        *c.log(TX, (0, 0, 0, 0), 1, ["done", "two"]),  # one duplicate, one new
        *c.log(TX, (1, 2, 3, 0), 0, ["row step"], no_more=True, ack=0),
        *c.task(TX, 0, 0, "failure", message="exit 2", actions=[(0, "checkout", "success")]),
        *c.log(TX2, (0, 0, 0, 0), 0, ["orphan"], peer="10.0.0.99:1"),  # no runner at that peer
        *c.task(TX, 0, 0, "failure", pipeline="cancelled"),
        *c.call("Ping", {"data": "x"}, None, code=14),
    ]


EXPECTED = [
    "runner u-1 register linux-1 labels=linux,x64",
    f"{TX} 0/0 state running",
    f"{TX} 0/0/0 state running",
    f"{TX} 0/0/0 #0 | cloning",
    f"{TX} 0/0/0 #1 | done",
    f"{TX} 0/0/0 #5 | five",
    f"{TX} 0/0/0 #2 | two",
    f"{TX} 1/2.3/0 #0 | row step",
    f"{TX} 0/0 state failure | exit 2",
    f"{TX} 0/0/0 state success",
    f"{TX2} 0/0/0 #0 | orphan",
    f"{TX} task cancelled",
    "summary: 1 runner, 2 tasks, 3 streams, 6 rows, 1 gap (2 missing), 1 duplicate, 0 after no_more,"
    " 1 ack mismatch, 1 error, 11 calls",
    f"{TX} task cancelled runner linux-1",
    f"{TX2} task running runner (unknown runner)",
    f"{TX} 0/0/0: 4 rows, gaps #3–#4 (2 missing), 1 duplicate (0 different)",
    f"{TX} 1/2.3/0: 1 row, closed, 1 ack mismatch",
    f"{TX2} 0/0/0: 1 row",
]


def test_step_path_shows_the_row_only_when_not_zero() -> None:
    assert step_path((0, 0, 3)) == "0/3"
    assert step_path((1, 2, 3)) == "1/2.3"


def test_headless_lines_for_a_script() -> None:
    lines: list[str] = []
    printer = HeadlessPrinter(lines.append)
    model = LogModel(listener=printer)
    model.ingest_many(script())
    printer.print_summary(model)
    assert lines == EXPECTED


@pytest.mark.asyncio
async def test_run_headless_until_the_source_ends() -> None:
    lines: list[str] = []
    model = await run_headless(
        IterableSource(script(), chunk=3), HeadlessPrinter(lines.append), stop=asyncio.Event()
    )
    assert lines == EXPECTED
    assert summary_lines(model) == EXPECTED[-6:]


@pytest.mark.asyncio
async def test_run_headless_from_a_subscription_until_stop() -> None:
    bus = EventBus()
    lines: list[str] = []
    stop = asyncio.Event()
    with bus.subscribe() as subscription:
        runner = asyncio.create_task(run_headless(subscription, HeadlessPrinter(lines.append), stop=stop))
        events = script()
        for event in events[:20]:
            bus.publish(event)
        await asyncio.sleep(0.01)
        for event in events[20:]:
            bus.publish(event)  # queued, read once more on stop
        stop.set()
        await asyncio.wait_for(runner, 5)
    assert lines == EXPECTED


@pytest.mark.asyncio
async def test_pump_reports_end_of_source_and_stop() -> None:
    model = LogModel()
    assert await pump(script(), model, stop=asyncio.Event()) is True
    assert model.tasks
    stop = asyncio.Event()
    stop.set()
    bus = EventBus()
    with bus.subscribe() as subscription:
        assert await pump(subscription, LogModel(), stop=stop) is False
