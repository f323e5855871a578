"""The simulator's engine against the stand-in in-process: sessions, acks, failure, cancellation."""

from __future__ import annotations

from typing import Any

import pytest

from rpcctl.runner.simulator import RunnerOptions, SimulatedRunner
from rpcctl.runner.standin import StandInService
from rpcctl.runner.tasks import synthetic_task
from rpcctl.schema.registry import Schema
from tests.runner.loopback import LoopbackChannel

pytestmark = pytest.mark.asyncio


def _runner(channel: LoopbackChannel, schema: Schema, **options: Any) -> SimulatedRunner:
    return SimulatedRunner(channel, schema, "sim", ["linux"], RunnerOptions(keep_rows=True, **options))


async def test_full_session_stores_exactly_what_was_sent(runner_schema: Schema) -> None:
    task = synthetic_task(stages=2, steps=2, actions=2, rows=23, labels=["linux"])
    service = StandInService(runner_schema, [task])
    channel = LoopbackChannel(service)
    summary = await _runner(channel, runner_schema, batch_size=10).run()
    assert summary.ok, summary.last_error
    assert summary.tasks == [task.tx_uuid] and not summary.cancelled
    assert service.rows(task.tx_uuid) == summary.sent
    assert len(summary.sent) == 8 and summary.rows_sent == summary.rows_acked == 8 * 23
    names = [name for name, _ in channel.requests]
    assert names[:3] == ["Register", "Declare", "FetchTask"]
    assert names.count("UpdateLog") == 8 * 3  # 23 rows in batches of 10
    assert summary.calls == len(names)
    record = service.tasks[task.tx_uuid]
    assert record.pipeline_state == "success"
    assert all(step.state == "success" for step in record.steps.values())
    assert all(a.state == "success" for step in record.steps.values() for a in step.actions)
    no_more = [r for n, r in channel.requests if n == "UpdateLog" and r.no_more]
    assert len(no_more) == 8


async def test_empty_action_closes_its_stream(runner_schema: Schema) -> None:
    task = synthetic_task(stages=1, steps=1, actions=1, rows=0)
    service = StandInService(runner_schema, [task])
    summary = await _runner(LoopbackChannel(service), runner_schema).run()
    assert summary.ok
    assert all(s.closed for s in service.logs.streams.values()) and service.logs.total_rows == 0


async def test_no_task_ends_after_the_attempts(runner_schema: Schema) -> None:
    channel = LoopbackChannel(StandInService(runner_schema))
    summary = await _runner(channel, runner_schema, fetch_attempts=3, poll_interval=0).run()
    assert summary.ok and summary.tasks == []
    assert [n for n, _ in channel.requests].count("FetchTask") == 3


async def test_a_dropped_batch_is_resent_from_the_ack(runner_schema: Schema) -> None:
    task = synthetic_task(stages=1, steps=1, actions=1, rows=50)
    service = StandInService(runner_schema, [task])
    dropped = []

    async def drop_second_batch(name: str, request: Any, response: Any) -> Any:
        # The server loses the batch at index 10 but the runner carries on: the next
        # batch (index 20) is a gap, answered with ack 10, and the runner resends.
        if name == "UpdateLog" and request.index == 10 and not dropped:
            dropped.append(request.index)
            service.logs.streams.clear()
            service.logs.append(service_key(request), 0, [f"[0.0.0.0] line {i}" for i in range(10)], False)
            response.ack_index = 20
        return response

    channel = LoopbackChannel(service, drop_second_batch)
    summary = await _runner(channel, runner_schema, batch_size=10).run()
    assert summary.ack_mismatches == 1 and summary.errors == 0
    assert service.rows(task.tx_uuid) == summary.sent
    assert summary.rows_sent == 70 and summary.rows_acked == 50
    indexes = [r.index for n, r in channel.requests if n == "UpdateLog"]
    assert indexes == [0, 10, 20, 10, 20, 30, 40]


def service_key(request: Any) -> Any:
    from rpcctl.runner.streamkey import StreamKey

    return StreamKey(
        request.tx_uuid, request.stage_idx, request.step_row_idx, request.step_idx, request.action_idx
    )


async def test_a_server_that_never_acks_is_given_up_on(runner_schema: Schema) -> None:
    service = StandInService(runner_schema, [synthetic_task(stages=1, steps=1, rows=30)])

    async def stuck(name: str, request: Any, response: Any) -> Any:
        if name == "UpdateLog":
            response.ack_index = 0
        return response

    summary = await _runner(
        LoopbackChannel(service, stuck), runner_schema, batch_size=10, max_resends=5
    ).run()
    assert summary.errors == 1 and "gave up at ack_index 0" in summary.last_error
    assert summary.ack_mismatches == 6 and not summary.ok


async def test_failing_step_stops_the_task(runner_schema: Schema) -> None:
    task = synthetic_task(stages=2, steps=2, rows=3, fail_step=(0, 1))
    service = StandInService(runner_schema, [task])
    summary = await _runner(LoopbackChannel(service), runner_schema).run()
    assert summary.failed_steps == 1 and summary.errors == 0
    record = service.tasks[task.tx_uuid]
    assert {k: s.state for k, s in record.steps.items()} == {(0, 0, 0): "success", (0, 1, 0): "failure"}
    assert record.steps[(0, 1, 0)].message == "simulated failure"
    assert record.pipeline_state == "failure"


async def test_fail_step_option(runner_schema: Schema) -> None:
    service = StandInService(runner_schema, [synthetic_task(stages=1, steps=3, rows=1)])
    summary = await _runner(LoopbackChannel(service), runner_schema, fail_step=(0, 0)).run()
    assert summary.failed_steps == 1 and len(next(iter(service.tasks.values())).steps) == 1


async def test_cancellation_mid_task_stops_the_runner(runner_schema: Schema) -> None:
    task = synthetic_task(stages=2, steps=3, rows=5)
    service = StandInService(runner_schema, [task])
    updates = []

    async def cancel_after_two_updates(name: str, request: Any, response: Any) -> Any:
        if name == "UpdateTask":
            updates.append(request.state.state)
            if len(updates) == 2:
                service.cancel(task.tx_uuid)
        return response

    channel = LoopbackChannel(service, cancel_after_two_updates)
    summary = await _runner(channel, runner_schema).run()
    assert summary.cancelled == [task.tx_uuid] and summary.errors == 0
    # running, success (the server cancels here) → running answered cancelled → cancelled.
    assert updates == ["running", "success", "running", "cancelled"]
    assert len(service.rows(task.tx_uuid)) == 1


async def test_errors_end_the_run_with_a_summary(runner_schema: Schema) -> None:
    service = StandInService(runner_schema, registration_token="secret")
    summary = await _runner(LoopbackChannel(service), runner_schema).run()
    assert summary.errors == 1 and summary.calls == 1
    assert summary.last_error == "Register: UNAUTHENTICATED: invalid registration token"


async def test_time_budget(runner_schema: Schema) -> None:
    service = StandInService(runner_schema, [synthetic_task(rows=1000)])
    summary = await _runner(
        LoopbackChannel(service), runner_schema, max_duration=0.05, rows_per_second=200, batch_size=5
    ).run()
    assert summary.timed_out and not summary.ok


async def test_rows_acked_counts_a_stream_the_time_budget_cut(runner_schema: Schema) -> None:
    # A load run ends mid-stream: the rows the server acknowledged so far are accepted rows,
    # although the stream never reached its end.
    task = synthetic_task(stages=1, steps=1, actions=1, rows=10_000)
    service = StandInService(runner_schema, [task])
    summary = await _runner(
        LoopbackChannel(service), runner_schema, batch_size=10, rows_per_second=500, max_duration=0.3
    ).run()
    assert summary.timed_out
    stored = service.logs.total_rows
    assert 0 < stored < 10_000
    assert summary.rows_acked == stored == summary.rows_sent
