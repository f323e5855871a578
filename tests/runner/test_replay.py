"""Replay end to end: a capture recorded through the proxy, replayed onto a second stand-in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rpcctl.call_events import EventKind
from rpcctl.errors import UsageError
from rpcctl.proxy.capture import iter_events, read_capture
from rpcctl.runner.replay import ReplayOptions, replay, replay_task
from rpcctl.runner.replay_sessions import split_sessions
from rpcctl.runner.standin import StandInService
from rpcctl.runner.tasks import synthetic_task
from rpcctl.schema.registry import Schema
from rpcctl.transport.target import RpcProtocol
from tests.runner.replay_support import PREFIX, Recording, record, retarget, stand_in, task_shape

pytestmark = pytest.mark.asyncio

PROTOCOLS = [RpcProtocol.GRPC, RpcProtocol.CONNECT, RpcProtocol.GRPC_WEB]


def _prefix(protocol: RpcProtocol) -> str:
    # grpcio cannot send a path prefix (see tests/runner/test_session.py).
    return "" if protocol is RpcProtocol.GRPC else PREFIX


async def _recording(schema: Schema, tmp_path: Path, count: int = 1, **kw: Any) -> Recording:
    return await record(schema, tmp_path / "capture.jsonl", [task_shape() for _ in range(count)], **kw)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
async def test_every_row_arrives_with_the_targets_ids(
    runner_schema: Schema, tmp_path: Path, protocol: RpcProtocol
) -> None:
    rec = await _recording(runner_schema, tmp_path)
    recorded_tx = rec.tasks[0].tx_uuid
    target_task = task_shape()
    async with stand_in(runner_schema, [target_task], _prefix(protocol)) as target:
        with target.bus.subscribe() as events:
            summary = await replay(rec.path, target.settings(protocol), ReplayOptions(speed=None))
            seen = events.drain()
    assert summary.ok, summary.to_json()
    assert summary.sessions == 1 and len(summary.copies) == 1
    assert summary.tasks == {recorded_tx: [target_task.tx_uuid]}
    assert target.service.rows(target_task.tx_uuid) == retarget(rec.sent(recorded_tx), target_task.tx_uuid)
    assert summary.rows == 8 * 23 and summary.ack_mismatches == 0
    record = target.service.tasks[target_task.tx_uuid]
    assert record.pipeline_state == "success"
    # The id mapping: every call after Register carries what the target issued.
    runner = next(iter(target.service.runners.values()))
    assert summary.copies[0].runner_uuid == runner.uuid and record.runner_uuid == runner.uuid
    requests = [e for e in seen if e.kind is EventKind.REQUEST]
    for event in requests:
        msg = event.message
        if "token" in msg and not event.method.endswith("/Register"):
            assert msg["token"] == runner.token
        if "txUuid" in msg:
            assert msg["txUuid"] == target_task.tx_uuid
    ends = [e for e in seen if e.kind is EventKind.END]
    assert len(ends) == summary.calls and all(e.info["code"] == 0 for e in ends)


@pytest.mark.parametrize("speed", [None, 10.0], ids=["max", "x10"])
async def test_speeds_replay_the_calls_in_recorded_order(
    runner_schema: Schema, tmp_path: Path, speed: float | None
) -> None:
    rec = await _recording(runner_schema, tmp_path)
    target_task = task_shape()
    async with stand_in(runner_schema, [target_task]) as target:
        with target.bus.subscribe() as events:
            summary = await replay(rec.path, target.settings(RpcProtocol.CONNECT), ReplayOptions(speed=speed))
            seen = events.drain()
    assert summary.ok, summary.to_json()
    replayed = [(e.method.rpartition("/")[2], _key(e.message)) for e in seen if e.kind is EventKind.REQUEST]
    split = split_sessions(iter_events(rec.path))
    recorded = [(c.method, _key(c.request)) for c in split.sessions[0].calls]
    assert replayed == recorded


def _key(message: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(str(message.get(k, "")) for k in ("stageIdx", "stepRowIdx", "actionIdx", "index"))


async def test_two_runners_double_the_sessions(runner_schema: Schema, tmp_path: Path) -> None:
    rec = await _recording(runner_schema, tmp_path)
    recorded_tx = rec.tasks[0].tx_uuid
    targets = [task_shape(), task_shape()]
    async with stand_in(runner_schema, targets) as target:
        summary = await replay(
            rec.path, target.settings(RpcProtocol.CONNECT), ReplayOptions(speed=None, runners=2)
        )
    assert summary.ok, summary.to_json()
    assert len(summary.copies) == 2 and len(target.service.runners) == 2
    assert sorted(summary.tasks[recorded_tx]) == sorted(t.tx_uuid for t in targets)
    assert len({c.runner_uuid for c in summary.copies}) == 2
    for task in targets:
        assert target.service.rows(task.tx_uuid) == retarget(rec.sent(recorded_tx), task.tx_uuid)
    assert summary.rows == 2 * 8 * 23


async def test_tx_selects_one_task(runner_schema: Schema, tmp_path: Path) -> None:
    rec = await _recording(runner_schema, tmp_path, count=2)
    chosen = rec.tasks[1].tx_uuid
    target_task = task_shape()
    async with stand_in(runner_schema, [target_task, task_shape()]) as target:
        summary = await replay_task(rec.path, chosen, target.settings(RpcProtocol.GRPC_WEB))
    assert summary.ok, summary.to_json()
    assert summary.sessions == 1 and summary.tasks == {chosen: [target_task.tx_uuid]}
    assert target.service.rows(target_task.tx_uuid) == retarget(rec.sent(chosen), target_task.tx_uuid)
    assert len(target.service.queue) == 1  # the other task was never fetched


async def test_as_tx_names_the_task_when_the_target_names_none(runner_schema: Schema, tmp_path: Path) -> None:
    rec = await _recording(runner_schema, tmp_path)
    recorded_tx = rec.tasks[0].tx_uuid
    # A target task whose FetchTask content carries no task id: --as-tx names it.
    named = task_shape()
    target_task = type(named)(named.tx_uuid, named.stages, named.labels, content="run the build")
    async with stand_in(runner_schema, [target_task]) as target:
        summary = await replay_task(
            rec.path, recorded_tx, target.settings(RpcProtocol.CONNECT), as_tx=named.tx_uuid
        )
    assert summary.ok, summary.to_json()
    assert summary.tasks == {recorded_tx: [named.tx_uuid]}
    assert target.service.rows(named.tx_uuid) == retarget(rec.sent(recorded_tx), named.tx_uuid)


async def test_unknown_tx_is_a_usage_error(runner_schema: Schema, tmp_path: Path) -> None:
    rec = await _recording(runner_schema, tmp_path)
    async with stand_in(runner_schema) as target:
        with pytest.raises(UsageError, match="not in the capture"):
            await replay_task(rec.path, "no-such-task", target.settings(RpcProtocol.CONNECT))


class CancelAtFirstLog(StandInService):
    """A stand-in that cancels a task when its first UpdateLog arrives."""

    async def update_log(self, request: Any) -> Any:
        self.cancel(request.tx_uuid)
        return await super().update_log(request)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
async def test_cancellation_on_the_target_stops_the_task(
    runner_schema: Schema, tmp_path: Path, protocol: RpcProtocol
) -> None:
    rec = await _recording(runner_schema, tmp_path)
    target_task = task_shape()
    async with stand_in(runner_schema, [target_task], _prefix(protocol), CancelAtFirstLog) as target:
        summary = await replay(rec.path, target.settings(protocol), ReplayOptions(speed=None))
    assert summary.cancelled == [target_task.tx_uuid], summary.to_json()
    assert summary.errors == 0 and summary.ok
    service = target.service
    record = service.tasks[target_task.tx_uuid]
    assert record.cancelled
    # Step 0.0 ran its first action, then its next UpdateTask was answered cancelled.
    assert [s.state for s in record.steps.values()] == ["cancelled"]
    stored = service.rows(target_task.tx_uuid)
    assert sum(len(r) for r in stored.values()) < 8 * 23 and len(stored) == 1


async def test_a_step_whose_final_report_is_answered_cancelled_keeps_its_state(
    runner_schema: Schema, tmp_path: Path
) -> None:
    shape = {"stages": 2, "steps": 2, "rows": 5}  # one action per step: the step's next report is final
    rec = await record(runner_schema, tmp_path / "capture.jsonl", [synthetic_task(**shape)])
    target_task = synthetic_task(**shape)
    async with stand_in(runner_schema, [target_task], PREFIX, CancelAtFirstLog) as target:
        summary = await replay(rec.path, target.settings(RpcProtocol.CONNECT), ReplayOptions(speed=None))
    assert summary.cancelled == [target_task.tx_uuid], summary.to_json()
    record_ = target.service.tasks[target_task.tx_uuid]
    assert record_.cancelled
    # Step 0.0 sent its rows and reported success, answered cancelled: it is not reported again.
    assert {key: step.state for key, step in record_.steps.items()} == {(0, 0, 0): "success"}


async def test_a_redacted_capture_replays(runner_schema: Schema, tmp_path: Path) -> None:
    rec = await _recording(runner_schema, tmp_path, redact=True)
    text = rec.path.read_text()
    assert "[REDACTED:" in text and read_capture(rec.path).redacted
    target_task = task_shape()
    async with stand_in(runner_schema, [target_task]) as target:
        summary = await replay(rec.path, target.settings(RpcProtocol.CONNECT), ReplayOptions(speed=None))
    assert summary.ok, summary.to_json()
    assert target.service.rows(target_task.tx_uuid) == retarget(
        rec.sent(rec.tasks[0].tx_uuid), target_task.tx_uuid
    )


async def test_an_unredacted_capture_replays_too(runner_schema: Schema, tmp_path: Path) -> None:
    rec = await _recording(runner_schema, tmp_path, redact=False)
    assert "[REDACTED:" not in rec.path.read_text()
    target_task = task_shape()
    async with stand_in(runner_schema, [target_task]) as target:
        summary = await replay(rec.path, target.settings(RpcProtocol.CONNECT), ReplayOptions(speed=None))
    assert summary.ok and summary.rows == 8 * 23
    json.dumps(summary.to_json())


async def test_no_task_on_the_target_is_an_error(runner_schema: Schema, tmp_path: Path) -> None:
    rec = await _recording(runner_schema, tmp_path)
    async with stand_in(runner_schema) as target:
        summary = await replay(
            rec.path,
            target.settings(RpcProtocol.CONNECT),
            ReplayOptions(speed=None, fetch_attempts=2, poll_interval=0),
        )
    assert not summary.ok and summary.errors == 1 and summary.rows == 0
    assert "no task" in summary.to_json()["last_error"]


class LoseOneBatch(StandInService):
    """A stand-in that loses the first batch at index 10 (answers ack 10 without storing it)."""

    lost = 0

    async def update_log(self, request: Any) -> Any:
        if request.index == 10 and not self.lost:
            self.lost += 1
            return self.messages.new("UpdateLogResponse", ack_index=10)
        return await super().update_log(request)


async def test_a_lost_batch_is_a_disagreement_and_is_resent(runner_schema: Schema, tmp_path: Path) -> None:
    rec = await _recording(runner_schema, tmp_path)
    recorded_tx = rec.tasks[0].tx_uuid
    target_task = task_shape()
    lines: list[str] = []
    async with stand_in(runner_schema, [target_task], service_class=LoseOneBatch) as target:
        summary = await replay(
            rec.path, target.settings(RpcProtocol.CONNECT), ReplayOptions(speed=None), progress=lines.append
        )
    assert not summary.ok and summary.ack_mismatches == 1 and summary.errors == 0
    assert summary.rows_resent == 10
    assert target.service.rows(target_task.tx_uuid) == retarget(rec.sent(recorded_tx), target_task.tx_uuid)
    assert any("ack_index 10, expected 20" in line for line in lines)


class RefuseUpdates(StandInService):
    """A stand-in whose UpdateTask answers success=false."""

    async def update_task(self, request: Any) -> Any:
        response = await super().update_task(request)
        response.success = False
        return response


async def test_update_task_without_success_is_a_disagreement(runner_schema: Schema, tmp_path: Path) -> None:
    rec = await _recording(runner_schema, tmp_path)
    async with stand_in(runner_schema, [task_shape()], service_class=RefuseUpdates) as target:
        summary = await replay(rec.path, target.settings(RpcProtocol.CONNECT), ReplayOptions(speed=None))
    assert not summary.ok and summary.update_failures > 0 and summary.errors == 0


async def test_events_without_register_replay_as_a_new_runner(runner_schema: Schema, tmp_path: Path) -> None:
    """A capture that starts after Register (the TUI hands events, not a file): replay registers first."""
    rec = await _recording(runner_schema, tmp_path)
    recorded_tx = rec.tasks[0].tx_uuid
    events = list(iter_events(rec.path))
    identity_calls = {e.call_id for e in events if e.method.endswith(("/Register", "/Declare"))}
    events = [e for e in events if e.call_id not in identity_calls]
    split = split_sessions(events)
    assert [s.runner_uuid for s in split.sessions] == [""]  # the unknown runner
    target_task = task_shape()
    async with stand_in(runner_schema, [target_task]) as target:
        summary = await replay_task(events, recorded_tx, target.settings(RpcProtocol.CONNECT))
    assert summary.ok, summary.to_json()
    assert len(target.service.runners) == 1
    assert target.service.rows(target_task.tx_uuid) == retarget(rec.sent(recorded_tx), target_task.tx_uuid)


async def test_split_sessions_keeps_runners_apart(runner_schema: Schema, tmp_path: Path) -> None:
    rec = await _recording(runner_schema, tmp_path, count=2)
    split = split_sessions(iter_events(rec.path))
    assert [s.tasks for s in split.sessions] == [[rec.tasks[0].tx_uuid], [rec.tasks[1].tx_uuid]]
    assert [s.name for s in split.sessions] == ["recorded-0", "recorded-1"]
    for session in split.sessions:
        assert [c.method for c in session.calls][:3] == ["Register", "Declare", "FetchTask"]
        assert session.rows == 8 * 23
    assert split.skipped == 0  # one task per runner: no empty FetchTask poll, no failed call
