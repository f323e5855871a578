"""The stand-in's log streams: appends, resends, gaps and no_more."""

from __future__ import annotations

import pytest

from rpcctl.runner.logstore import LogStore, NegativeIndexError, StreamClosedError
from rpcctl.runner.streamkey import StreamKey

KEY = StreamKey("tx", 0, 1, 0, 2)


def rows(start: int, end: int) -> list[str]:
    return [f"r{i}" for i in range(start, end)]


def test_in_order_batches_append() -> None:
    store = LogStore()
    assert store.append(KEY, 0, rows(0, 3), False) == 3
    assert store.append(KEY, 3, rows(3, 5), False) == 5
    assert store.rows(KEY) == rows(0, 5)


def test_gap_stores_nothing_and_acks_the_next_expected() -> None:
    store = LogStore()
    store.append(KEY, 0, rows(0, 3), False)
    assert store.append(KEY, 5, rows(5, 8), False) == 3
    assert store.rows(KEY) == rows(0, 3)
    assert store.streams[KEY].gaps == 1
    assert store.append(KEY, 3, rows(3, 8), False) == 8
    assert store.rows(KEY) == rows(0, 8)


def test_resend_and_overlap_add_no_duplicates() -> None:
    store = LogStore()
    store.append(KEY, 0, rows(0, 4), False)
    assert store.append(KEY, 0, rows(0, 4), False) == 4
    assert store.append(KEY, 2, rows(2, 6), False) == 6
    assert store.rows(KEY) == rows(0, 6)
    assert store.streams[KEY].resent_rows == 6


def test_no_more_closes_the_stream() -> None:
    store = LogStore()
    assert store.append(KEY, 0, rows(0, 2), True) == 2
    assert store.append(KEY, 0, rows(0, 2), True) == 2  # a resend of the last batch is fine
    assert store.append(KEY, 2, [], True) == 2
    with pytest.raises(StreamClosedError, match="closed by no_more at row 2"):
        store.append(KEY, 2, ["late"], False)
    assert store.rows(KEY) == rows(0, 2)


def test_empty_stream_and_negative_index() -> None:
    store = LogStore()
    assert store.append(KEY, 0, [], True) == 0
    with pytest.raises(NegativeIndexError):
        store.append(StreamKey("tx", 0, 0, 0, 0), -1, ["x"], False)


def test_streams_are_separate_and_listed_per_task() -> None:
    store = LogStore()
    other = KEY._replace(action_idx=3)
    store.append(KEY, 0, ["a"], False)
    store.append(other, 0, ["b", "c"], False)
    store.append(StreamKey("tx2", 0, 0, 0, 0), 0, ["z"], False)
    assert store.task_rows("tx") == {KEY: ["a"], other: ["b", "c"]}
    assert store.total_rows == 4
