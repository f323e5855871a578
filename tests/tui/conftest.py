"""Fixtures of the TUI tests: a log model filled from a scripted event sequence."""

from __future__ import annotations

import pytest

from rpcctl.call_events import CallEvent
from rpcctl.runner.callstats import CallStats
from rpcctl.runner.logmodel import LogModel
from tests.tui.callevents import TX, TX2, Calls, rows

STAGES = [{"name": "build", "steps": [[{"name": "checkout"}, {"name": "compile"}]]}]
"""The stages of task TX as its FetchTask content names them: one row of two parallel steps
(step_idx 0 and 1); the actions are named by UpdateTask."""


def scripted_events() -> list[CallEvent]:
    """Two runners, two tasks; task TX has a gap on stream 0/0/0 and a second step."""
    c = Calls()
    return [
        *c.register("linux-1", "u-1", "tok-1", labels=("linux",), peer="10.0.0.1:1"),
        *c.register("mac-1", "u-2", "tok-2", labels=("macos", "arm64"), peer="10.0.0.2:1"),
        *c.fetch("tok-1", TX, stages=STAGES),
        *c.fetch("tok-2", TX2),
        *c.task(TX, 0, 0, "success", actions=[(0, "checkout", "success")]),
        *c.task(TX, 0, 1, "running", actions=[(0, "build", "running"), (1, "test", "pending")]),
        *c.log(TX, (0, 0, 0, 0), 0, rows("cloning repository", 0, 5)),
        *c.log(TX, (0, 0, 0, 0), 8, rows("cloning repository", 8, 10), no_more=True),
        *c.log(TX, (0, 0, 1, 0), 0, rows("compiling module", 0, 6)),
        *c.log(TX, (0, 0, 1, 0), 6, ["warning: unused variable", "compiling module 7"]),
        *c.task(TX2, 0, 0, "failure", message="exit status 2", actions=[(0, "lint", "failure")]),
        *c.log(TX2, (0, 0, 0, 0), 0, ["lint: 3 problems"], no_more=True),
        *c.call("Ping", {"data": "x"}, None, code=14, peer="10.0.0.3:1"),
    ]


def scripted_model() -> LogModel:
    """A model with `scripted_events` ingested and a frozen clock (stable rates)."""
    model = LogModel(stats=CallStats(clock=lambda: 1000.0))
    model.ingest_many(scripted_events())
    return model


@pytest.fixture
def model() -> LogModel:
    """The scripted model."""
    return scripted_model()
