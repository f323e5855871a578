"""The log model: streams, gaps, duplicates, no_more, acks, task states and runner identities."""

from __future__ import annotations

import random

from rpcctl.runner.logmodel import LogModel, StateChange
from rpcctl.runner.logstream import Gap, LogStream
from rpcctl.runner.logtree import UNKNOWN_RUNNER, Badge
from tests.tui.callevents import TX, TX2, Calls, rows

KEY = (0, 0, 0, 0)
SKEY = (TX, 0, 0, 0, 0)


def model_with(*batches: list) -> LogModel:  # type: ignore[type-arg]
    model = LogModel()
    for batch in batches:
        model.ingest_many(batch)
    return model


def test_rows_in_order_one_stream() -> None:
    c = Calls()
    model = model_with(c.log(TX, KEY, 0, rows("a", 0, 3)), c.log(TX, KEY, 3, rows("a", 3, 5)))
    stream = model.streams[SKEY]
    assert stream.indices == [0, 1, 2, 3, 4]
    assert stream.texts == rows("a", 0, 5)
    assert stream.gaps() == [] and stream.duplicates == 0 and stream.received == 5
    assert model.tasks[TX].rows == 5


def test_streams_are_keyed_by_stage_row_step_action() -> None:
    c = Calls()
    model = model_with(c.log(TX, (1, 2, 3, 4), 0, ["x"]), c.log(TX, (1, 2, 3, 5), 0, ["y"]))
    assert set(model.streams) == {(TX, 1, 2, 3, 4), (TX, 1, 2, 3, 5)}
    assert [s.key for s in model.task_streams(TX)] == [(TX, 1, 2, 3, 4), (TX, 1, 2, 3, 5)]


def test_gap_detected_then_filled_by_out_of_order_batch() -> None:
    c = Calls()
    model = model_with(c.log(TX, KEY, 0, rows("r", 0, 2)), c.log(TX, KEY, 5, rows("r", 5, 8)))
    stream = model.streams[SKEY]
    assert stream.gaps() == [Gap(2, 5)] and stream.gap_count == 1 and stream.missing == 3
    assert str(stream.gaps()[0]) == "#2–#4"
    model.ingest_many(c.log(TX, KEY, 2, rows("r", 2, 5)))
    assert stream.gaps() == [] and stream.missing == 0
    assert stream.indices == list(range(8)) and stream.texts == rows("r", 0, 8)


def test_leading_gap_and_several_gaps() -> None:
    stream = LogStream(SKEY)
    stream.add(3, ["d"])
    stream.add(5, ["f"])
    stream.add(9, ["j"])
    assert stream.gaps() == [Gap(0, 3), Gap(4, 5), Gap(6, 9)]
    assert stream.gap_count == 3 and stream.missing == 7
    stream.add(4, ["e"])
    assert stream.gaps() == [Gap(0, 3), Gap(6, 9)]


def test_shuffled_batches_end_ordered() -> None:
    c = Calls()
    batches = [c.log(TX, KEY, i, rows("s", i, i + 10)) for i in range(0, 500, 10)]
    random.Random(7).shuffle(batches)
    model = model_with(*batches)
    stream = model.streams[SKEY]
    assert stream.indices == list(range(500)) and stream.texts == rows("s", 0, 500)
    assert stream.gaps() == [] and stream.duplicates == 0


def test_duplicates_same_and_different_content() -> None:
    c = Calls()
    model = model_with(
        c.log(TX, KEY, 0, ["a", "b", "c"]),
        c.log(TX, KEY, 1, ["b", "c"]),  # resend, same text
        c.log(TX, KEY, 2, ["C!", "d"]),  # one changed, one new
    )
    stream = model.streams[SKEY]
    assert (stream.duplicates_same, stream.duplicates_different) == (2, 1)
    assert stream.texts == ["a", "b", "c", "d"]  # the first text wins
    assert stream.received == 4


def test_duplicate_of_dropped_row_is_unknown() -> None:
    stream = LogStream(SKEY, limit=2)
    stream.add(0, ["a", "b", "c", "d"])
    assert stream.indices == [2, 3] and stream.dropped == 2
    stream.add(0, ["a"])
    assert stream.duplicates_unknown == 1 and stream.duplicates == 1


def test_no_more_and_rows_after_it() -> None:
    c = Calls()
    model = model_with(c.log(TX, KEY, 0, ["a", "b"], no_more=True))
    stream = model.streams[SKEY]
    assert stream.closed and stream.closed_at == 2 and stream.rows_after_no_more == 0
    model.ingest_many(c.log(TX, KEY, 2, ["late", "later"]))
    model.ingest_many(c.log(TX, KEY, 0, ["a"]))
    assert stream.rows_after_no_more == 3 and stream.duplicates_same == 1
    assert stream.texts == ["a", "b", "late", "later"]


def test_ack_disagreement_is_counted() -> None:
    c = Calls()
    model = model_with(
        c.log(TX, KEY, 0, ["a", "b"]),  # ack 2: fine
        c.log(TX, KEY, 2, ["c"], ack=2),  # the server kept nothing
    )
    stream = model.streams[SKEY]
    assert stream.ack_mismatches == 1 and model.ack_mismatches == 1 and stream.last_ack == 2


def test_ack_paired_by_call_id_when_calls_interleave() -> None:
    c = Calls()
    first = c.log(TX, KEY, 0, ["a"], ack=1)
    second = c.log(TX, (0, 0, 0, 1), 0, ["x", "y"], ack=2)
    # START/REQUEST of both, then the responses in reverse order.
    model = model_with(first[:2] + second[:2] + second[2:] + first[2:])
    assert model.ack_mismatches == 0
    assert [r.call_id for r in model.stats.recent] == ["c2", "c1"]


def test_update_task_states_times_messages_and_actions() -> None:
    changes: list[StateChange] = []

    class Listener:
        def rows_added(self, stream: LogStream, index: int, rows: object) -> None:
            pass

        def state_changed(self, change: StateChange) -> None:
            changes.append(change)

        def runner_seen(self, runner: object, how: str) -> None:
            pass

    c = Calls()
    model = LogModel(listener=Listener())
    model.ingest_many(c.task(TX, 1, 2, "running", row=1, actions=[(0, "checkout", "running")]))
    model.ingest_many(c.task(TX, 1, 2, "running", row=1, actions=[(0, "checkout", "running")]))
    model.ingest_many(
        c.task(TX, 1, 2, "failure", row=1, message="exit 1", actions=[(0, "checkout", "failure")])
    )
    step = model.tasks[TX].steps[(1, 1, 2)]
    assert (step.state, step.message, step.start_time) == ("failure", "exit 1", 100)
    assert step.actions[0].name == "checkout" and step.actions[0].state == "failure"
    assert [(ch.step, ch.action, ch.state) for ch in changes] == [
        ((1, 1, 2), None, "running"),
        ((1, 1, 2), 0, "running"),
        ((1, 1, 2), None, "failure"),
        ((1, 1, 2), 0, "failure"),
    ]
    assert model.tasks[TX].badge == Badge.FAILED


def test_cancelled_pipeline_state_marks_task() -> None:
    c = Calls()
    model = model_with(c.task(TX, 0, 0, "running"))
    model.mark_cancel_requested(TX)
    assert model.tasks[TX].cancel_requested and not model.tasks[TX].cancelled
    model.ingest_many(c.task(TX, 0, 0, "running", pipeline="cancelled"))
    assert model.tasks[TX].cancelled and model.tasks[TX].badge == Badge.CANCELLED


def test_register_declare_and_attribution_by_fetch_and_peer() -> None:
    c = Calls()
    model = model_with(
        c.register("linux-1", "u-1", "tok-1", peer="10.0.0.1:1"),
        c.register("mac-1", "u-2", "tok-2", peer="10.0.0.2:1"),
        c.declare("u-2", "tok-2", name="mac-1", peer="10.0.0.2:2"),
        c.fetch("tok-1", TX, peer="10.0.0.9:9"),  # token wins over peer
        c.log(TX, KEY, 0, ["a"], peer="10.0.0.2:2"),  # tx already attributed by FetchTask
        c.log(TX2, KEY, 0, ["b"], peer="10.0.0.2:2"),  # never fetched: attributed by peer
    )
    r1, r2 = model.runners["u-1"], model.runners["u-2"]
    assert (r1.name, r1.token, r1.labels, r1.id) == ("linux-1", "tok-1", ("linux",), 1)
    assert r1.tasks == [TX] and r2.tasks == [TX2]
    assert model.runner_of(TX) is r1


def test_unknown_runner_then_reattributed() -> None:
    c = Calls()
    model = model_with(c.log(TX, KEY, 0, ["a"], peer="10.9.9.9:1"))
    assert model.tasks[TX].runner == UNKNOWN_RUNNER and model.runners[UNKNOWN_RUNNER].tasks == [TX]
    model.ingest_many(c.register("late", "u-9", "tok-9", peer="10.9.9.9:1"))
    model.ingest_many(c.task(TX, 0, 0, "running", peer="10.9.9.9:1"))
    assert model.tasks[TX].runner == "u-9" and model.runners[UNKNOWN_RUNNER].tasks == []


def test_token_header_attributes_and_redacted_header_does_not() -> None:
    c = Calls()
    model = model_with(
        c.register("a", "u-a", "tok-a", peer="p1"),
        c.log(TX, KEY, 0, ["x"], peer="p2", headers=[("authorization", "Bearer tok-a")]),
        c.log(TX2, KEY, 0, ["y"], peer="p3", headers=[("x-runner-token", "[REDACTED]")]),
    )
    assert model.tasks[TX].runner == "u-a" and model.tasks[TX2].runner == UNKNOWN_RUNNER


def test_calls_stats_and_changes() -> None:
    now = [1000.0]
    from rpcctl.runner.callstats import CallStats

    model = LogModel(stats=CallStats(clock=lambda: now[0]))
    c = Calls()
    model.ingest_many(c.log(TX, KEY, 0, rows("r", 0, 50)))
    model.ingest_many(c.call("Ping", {"data": "x"}, None, code=14))
    record = model.stats.recent[-1]
    assert (record.method, record.protocol, record.status, record.latency) == (
        "Ping",
        "connect",
        "UNAVAILABLE",
        0.002,
    )
    assert model.stats.errors == 1 and model.stats.calls == 2
    assert model.stats.rates() == (2 / 5, 50 / 5)
    now[0] += 60
    assert model.stats.rates() == (0, 0)
    changes = model.take_changes()
    assert changes.streams == {SKEY} and changes.tasks == {TX} and changes.calls and changes.runners
    assert not model.take_changes()
    version = model.version
    model.ingest_many(c.log(TX, KEY, 50, ["more"]))
    assert model.version > version and model.take_changes().streams == {SKEY}


def test_non_runner_calls_and_raw_messages_are_only_counted() -> None:
    from rpcctl.call_events import CallEvent, EventKind

    model = LogModel()
    method = "/grpc.health.v1.Health/Check"
    model.ingest_many(
        [
            CallEvent(EventKind.START, "x", method, info={"protocol": "grpc"}),
            CallEvent(EventKind.REQUEST, "x", method, raw=b"\x00"),
            CallEvent(EventKind.END, "x", method, info={"code": 0}),
        ]
    )
    assert not model.tasks and model.stats.recent[-1].method == "Check"


def test_memory_bounded_with_a_million_rows() -> None:
    model = LogModel(max_rows_per_stream=10_000)
    c = Calls()
    batch = rows("row", 0, 1000)
    for i in range(1000):
        model.ingest_many(c.log(TX, KEY, i * 1000, batch))
    stream = model.streams[SKEY]
    assert stream.received == 1_000_000 and len(stream.texts) == len(stream.indices) == 10_000
    assert stream.dropped == 990_000 and stream.indices[0] == 990_000 and stream.gaps() == []
    task = model.tasks[TX]
    assert task.rows == 1_000_000 and task.arrival_rows <= model.max_task_arrivals
    assert len(model.stats.recent) <= 200
