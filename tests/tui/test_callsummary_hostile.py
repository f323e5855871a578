"""A FetchTask answer's `content` is a runner peer's text: the calls table's summary of it
never raises, however deep or odd the JSON (it used plain json.loads: RecursionError)."""

from __future__ import annotations

import pytest

from rpcctl.runner.callstats import CallRecord
from rpcctl.runner.logmodel import LogModel
from rpcctl.tui.callsummary import call_summary


@pytest.mark.parametrize(
    ("content", "summary"),
    [
        ('{"tx_uuid": "6f1c0000-aaaa"}', "task 6f1c0000"),
        ("[" * 100_000, "no task"),
        ('{"a":' * 50_000 + "1" + "}" * 50_000, "no task"),
        ({"tx_uuid": "x"}, "no task"),
        ("1" * 5000, "no task"),
    ],
    ids=["task", "deep-list", "deep-object", "not-a-string", "long-number"],
)
def test_fetch_task_content(content: object, summary: str) -> None:
    record = CallRecord(seq=1, call_id="c", method="FetchTask", responses=[{"content": content}])
    assert call_summary(LogModel(), record) == summary
