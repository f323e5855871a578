"""The stand-in RunnerService on messages: identities, tasks, step states, logs, cancellation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rpcctl.errors import RpcError
from rpcctl.runner.messages import RunnerMessages
from rpcctl.runner.standin import StandInService
from rpcctl.runner.tasks import synthetic_task
from rpcctl.wire.status import Code
from tests.runner.conftest import register

pytestmark = pytest.mark.asyncio


async def test_register_issues_incrementing_ids_and_distinct_tokens(
    service: StandInService, msgs: RunnerMessages
) -> None:
    a = await register(service, msgs, "linux", name="a")
    b = await register(service, msgs, name="b")
    assert (a.id, b.id) == (1, 2)
    assert a.uuid != b.uuid and a.token != b.token
    assert list(a.labels) == ["linux"] and a.name == "a"


async def test_registration_token(runner_schema: Any, msgs: RunnerMessages) -> None:
    service = StandInService(runner_schema, registration_token="secret")
    with pytest.raises(RpcError) as info:
        await service.register(msgs.new("RegisterRequest", name="x", token="wrong"))
    assert info.value.code is Code.UNAUTHENTICATED
    ok = await service.register(msgs.new("RegisterRequest", name="x", token="secret"))
    assert ok.runner.id == 1


async def test_declare(service: StandInService, msgs: RunnerMessages) -> None:
    runner = await register(service, msgs, "linux")
    other = await register(service, msgs)
    answer = await service.declare(
        msgs.new("DeclareRequest", token=runner.token, uuid=runner.uuid, version="2.0", labels=["mac"])
    )
    assert answer.runner.version == "2.0" and list(answer.runner.labels) == ["mac"]
    with pytest.raises(RpcError) as info:
        await service.declare(msgs.new("DeclareRequest", token="nope", uuid=runner.uuid))
    assert info.value.code is Code.UNAUTHENTICATED and "unknown runner token" in info.value.message
    for uuid in ("no-such-uuid", other.uuid):
        with pytest.raises(RpcError) as info:
            await service.declare(msgs.new("DeclareRequest", token=runner.token, uuid=uuid))
        assert info.value.code is Code.NOT_FOUND and uuid in info.value.message


async def test_ping_echoes(service: StandInService, msgs: RunnerMessages) -> None:
    assert (await service.ping(msgs.new("PingRequest", data="hi"))).data == "hi"


async def test_fetch_matches_labels_and_runs_out(runner_schema: Any, msgs: RunnerMessages) -> None:
    win = synthetic_task(labels=["windows"], tx_uuid="win")
    lin = synthetic_task(labels=["linux", "x64"], tx_uuid="lin")
    anyone = synthetic_task(tx_uuid="any")
    service = StandInService(runner_schema, [win, lin, anyone])
    runner = await register(service, msgs, "linux", "x64")

    def fetch(*labels: str) -> Any:
        return service.fetch_task(msgs.new("FetchTaskRequest", token=runner.token, labels=list(labels)))

    first = await fetch()  # the registered labels
    assert first.success and json.loads(first.content)["tx_uuid"] == "lin"
    assert json.loads((await fetch("linux")).content)["tx_uuid"] == "any"
    none = await fetch("linux")
    assert not none.success and none.message == "no task for labels [linux] (1 queued for other labels)"
    assert json.loads((await fetch("windows")).content)["tx_uuid"] == "win"
    empty = await fetch("windows")
    assert (empty.success, empty.message) == (False, "no task left")
    assert set(service.tasks) == {"win", "lin", "any"}
    assert service.tasks["lin"].runner_uuid == runner.uuid


async def test_fetch_needs_a_known_token(service: StandInService, msgs: RunnerMessages) -> None:
    with pytest.raises(RpcError) as info:
        await service.fetch_task(msgs.new("FetchTaskRequest", token="bad"))
    assert info.value.code is Code.UNAUTHENTICATED


async def _started(service: StandInService, msgs: RunnerMessages, **task_args: Any) -> str:
    service.add_task(synthetic_task(tx_uuid="tx", **task_args))
    runner = await register(service, msgs)
    assert (await service.fetch_task(msgs.new("FetchTaskRequest", token=runner.token))).success
    return "tx"


def _update(msgs: RunnerMessages, stage: int, row: int, state: str, **extra: Any) -> Any:
    actions = [msgs.new("ActionState", name="a", index=0, state=state)]
    step = msgs.new("StepState", state=state, actions=actions, **extra)
    return msgs.new("UpdateTaskRequest", tx_uuid="tx", stage_idx=stage, step_row_idx=row, state=step)


async def test_update_task_records_steps_and_answers_pipeline_state(
    service: StandInService, msgs: RunnerMessages
) -> None:
    await _started(service, msgs, stages=1, steps=2)
    answer = await service.update_task(_update(msgs, 0, 0, "running", start_time=5))
    assert (answer.pipeline_state, answer.step_state, answer.success) == ("running", "running", True)
    await service.update_task(_update(msgs, 0, 0, "success", end_time=9, message="done"))
    step = service.tasks["tx"].steps[(0, 0, 0)]
    assert (step.state, step.start_time, step.end_time, step.message, step.updates) == (
        "success",
        5,
        9,
        "done",
        2,
    )
    assert [(a.name, a.state) for a in step.actions] == [("a", "success")]
    last = await service.update_task(_update(msgs, 0, 1, "success"))
    assert last.pipeline_state == "success"


async def test_a_failed_step_fails_the_pipeline(service: StandInService, msgs: RunnerMessages) -> None:
    await _started(service, msgs, stages=1, steps=2)
    assert (await service.update_task(_update(msgs, 0, 0, "failure"))).pipeline_state == "failure"


async def test_cancellation_answers_the_next_update(service: StandInService, msgs: RunnerMessages) -> None:
    await _started(service, msgs)
    assert (await service.update_task(_update(msgs, 0, 0, "running"))).pipeline_state == "running"
    assert service.cancel("tx")
    answer = await service.update_task(_update(msgs, 0, 0, "running"))
    assert (answer.pipeline_state, answer.success) == ("cancelled", True)
    assert not service.cancel("unknown")


async def test_cancelling_a_queued_task_withdraws_it(service: StandInService, msgs: RunnerMessages) -> None:
    service.add_task(synthetic_task(tx_uuid="q"))
    assert service.cancel("q")
    runner = await register(service, msgs)
    assert not (await service.fetch_task(msgs.new("FetchTaskRequest", token=runner.token))).success
    assert service.tasks["q"].cancelled


async def test_update_for_an_unknown_task_with_strict(runner_schema: Any, msgs: RunnerMessages) -> None:
    service = StandInService(runner_schema, strict=True)
    for call in (
        service.update_task(_update(msgs, 0, 0, "running")),
        service.update_log(msgs.new("UpdateLogRequest", tx_uuid="tx", rows=["x"])),
    ):
        with pytest.raises(RpcError) as info:
            await call
        assert info.value.code is Code.NOT_FOUND
    assert service.tasks == {} and service.adopted == set()


async def test_an_unknown_task_is_adopted(service: StandInService, msgs: RunnerMessages) -> None:
    response = await service.update_log(msgs.new("UpdateLogRequest", tx_uuid="tx", rows=["a", "b"]))
    assert response.ack_index == 2
    answer = await service.update_task(_update(msgs, 0, 0, "running"))
    assert answer.success and answer.pipeline_state == "running"
    assert service.adopted == {"tx"} and service.tasks["tx"].adopted
    assert service.rows("tx") == {("tx", 0, 0, 0, 0): ["a", "b"]}
    with pytest.raises(RpcError) as info:  # an empty tx_uuid names no task
        await service.update_log(msgs.new("UpdateLogRequest", tx_uuid="", rows=["x"]))
    assert info.value.code is Code.NOT_FOUND


def _log(msgs: RunnerMessages, index: int, rows: list[str], no_more: bool = False, action: int = 0) -> Any:
    return msgs.new(
        "UpdateLogRequest", tx_uuid="tx", stage_idx=1, step_row_idx=0, action_idx=action,
        index=index, rows=rows, no_more=no_more,
    )  # fmt: skip


async def test_update_log_gap_resend_and_no_more(service: StandInService, msgs: RunnerMessages) -> None:
    await _started(service, msgs)
    assert (await service.update_log(_log(msgs, 0, ["a", "b"]))).ack_index == 2
    assert (await service.update_log(_log(msgs, 4, ["e"]))).ack_index == 2  # gap: resend from 2
    assert (await service.update_log(_log(msgs, 1, ["b", "c", "d"]))).ack_index == 4  # overlap
    assert (await service.update_log(_log(msgs, 4, ["e"], no_more=True))).ack_index == 5
    assert (await service.update_log(_log(msgs, 4, ["e"], no_more=True))).ack_index == 5  # resend
    with pytest.raises(RpcError) as info:
        await service.update_log(_log(msgs, 5, ["late"]))
    assert info.value.code is Code.FAILED_PRECONDITION
    with pytest.raises(RpcError) as info:
        await service.update_log(_log(msgs, -1, ["x"], action=1))
    assert info.value.code is Code.INVALID_ARGUMENT
    assert list(service.rows("tx").values()) == [["a", "b", "c", "d", "e"]]
    key = next(iter(service.rows("tx")))
    assert (key.stage_idx, key.step_row_idx, key.step_idx, key.action_idx) == (1, 0, 0, 0)


async def test_add_task_refuses_a_known_tx(service: StandInService) -> None:
    service.add_task(synthetic_task(tx_uuid="x"))
    with pytest.raises(ValueError, match="already known"):
        service.add_task(synthetic_task(tx_uuid="x"))
