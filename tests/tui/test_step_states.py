"""The demo's failed step, end to end: what the simulator sends, what the model keeps, what the view shows.

Two simulated runners on a real stand-in server (127.0.0.1:0, Connect) run tasks with the same
step names, the first failing its step (1, 1) as `rpcctl demo` does. Each task keeps its own
step history, and the log view of a task shows only its own steps' state changes: a `success`
marker in one task's view is that task's, never the failed step of another.
"""

from __future__ import annotations

from typing import Any

import pytest

from rpcctl.call_events import EventBus, EventKind
from rpcctl.client import open_channel
from rpcctl.runner.handlers import build_table
from rpcctl.runner.logmodel import LogModel
from rpcctl.runner.simulator import RunnerOptions, SimulatedRunner
from rpcctl.runner.standin import StandInService
from rpcctl.runner.tasks import synthetic_task
from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import bundled_files
from rpcctl.server.serve import Server
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from rpcctl.tui.app import create_app
from rpcctl.tui.lines import build_lines
from tests.tui.callevents import Calls, rows

FAILING = (1, 1, 0)


@pytest.mark.asyncio
async def test_a_failed_step_is_failure_on_the_wire_in_the_model_and_in_its_own_task_only() -> None:
    runner_schema = Schema(bundled_files())
    service = StandInService(runner_schema)
    tasks = [
        synthetic_task(stages=2, steps=2, rows=5, fail_step=(1, 1) if n == 0 else None) for n in range(2)
    ]
    for task in tasks:
        service.add_task(task)
    bus = EventBus()
    table = build_table(service, runner_schema)
    model = LogModel()
    options = RunnerOptions(max_duration=30)
    async with Server(table, listen="127.0.0.1:0", schema=runner_schema, bus=bus) as server:
        with bus.subscribe() as events:
            for n in range(2):
                channel = open_channel(
                    ChannelSettings(Target.parse(server.url), protocol=RpcProtocol.CONNECT)
                )
                try:
                    await SimulatedRunner(
                        channel, runner_schema, f"demo-runner-{n + 1}", options=options
                    ).run()
                finally:
                    await channel.aclose()
            seen = events.drain()
    model.ingest_many(seen)
    failed, passed = (task.tx_uuid for task in tasks)

    # On the wire: the failing runner reports (1, 1) running, then failure, never success.
    sent = [
        e.message["state"]["state"]
        for e in seen
        if e.kind is EventKind.REQUEST
        and e.method.endswith("/UpdateTask")
        and e.message.get("txUuid") == failed
        and (e.message.get("stageIdx"), e.message.get("stepRowIdx")) == (1, 1)
    ]
    assert sent == ["running", "failure"]

    # In the model: each task's step (1, 1) has its own history.
    assert [e.state for e in model.tasks[failed].steps[FAILING].history] == ["running", "failure"]
    assert [e.state for e in model.tasks[passed].steps[FAILING].history] == ["running", "success"]
    action = [e.state for e in model.tasks[failed].steps[FAILING].actions[0].history]
    assert action[-1] == "failure"
    assert "success" not in action

    # In the view: the failed task ends on its step's failure, then its own verdict (the
    # server's pipeline_state answer), named; the other task on its success.
    failed_lines = [line for line in build_lines(model, ("task", failed)) if line.state]
    assert [(line.prefix, line.state) for line in failed_lines[-2:]] == [
        ("step-1.1 ", "failure"),
        ("", "failure"),
    ]
    assert failed_lines[-2].text.endswith(": simulated failure ──")
    assert failed_lines[-1].text == f"── task {failed[:8]} failure ──"
    assert not any(line.state == "success" and line.prefix == "step-1.1 " for line in failed_lines)
    passed_lines = [line for line in build_lines(model, ("task", passed)) if line.state]
    assert [(line.prefix, line.state) for line in passed_lines[-2:]] == [
        ("step-1.1 ", "success"),
        ("", "success"),
    ]
    assert passed_lines[-1].text == f"── task {passed[:8]} success ──"


TOP = "ffff0000-0000-4000-8000-000000000001"
"""The task of the runner at the top of the tree; its tx_uuid sorts last."""
BELOW = "00000000-0000-4000-8000-000000000002"


def two_runners() -> LogModel:
    """`demo-runner-1` (shown first) fails step-1.1 of task TOP; `demo-runner-2` passes it in BELOW."""
    c = Calls()
    stages = [
        {"name": f"stage-{s}", "steps": [{"name": f"step-{s}.{r}"} for r in range(2)]} for s in range(2)
    ]
    events = [
        *c.register("demo-runner-1", "u-1", "tok-1"),
        *c.register("demo-runner-2", "u-2", "tok-2"),
        *c.fetch("tok-1", TOP, stages=stages),
        *c.fetch("tok-2", BELOW, stages=stages),
    ]
    for tx, last in ((TOP, "failure"), (BELOW, "success")):
        events += c.task(tx, 1, 0, "running", row=1, actions=[(0, "action-1.1.0", "pending")])
        events += c.log(tx, (1, 1, 0, 0), 0, rows("line", 0, 3), no_more=True)
        events += c.task(tx, 1, 0, last, row=1, end=102, actions=[(0, "action-1.1.0", last)])
    model = LogModel()
    model.ingest_many(events)
    return model


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [(80, 24), (120, 32), (160, 45)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_task_shown_at_start_is_the_top_one_and_the_title_says_whose_and_its_state(
    size: tuple[int, int],
) -> None:
    app = create_app(two_runners(), mode="demo")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.selected == ("task", TOP)
        assert app.task_tree.cursor_node is not None
        assert app.task_tree.cursor_node.data == ("task", TOP)
        title = app.log_view.full_title
        assert title.startswith("demo-runner-1 › task ffff0000")
        assert title.endswith("✘ failed")
        assert str(app.log_view.border_title).endswith("✘ failed")  # fitted to the width, the state stays
        assert app.task_tree.select_key(("task", BELOW))
        await pilot.pause()
        assert app.log_view.full_title == "demo-runner-2 › task 00000000 ✔ success"
        assert app.task_tree.select_key(("step", TOP, 1, 1, 0))
        await pilot.pause()
        assert app.log_view.full_title.endswith("› step-1.1 #1 ✘ failed")


class CancelAtFirstLog(StandInService):
    """Cancels a task when its first UpdateLog arrives, as `rpcctl demo` does with its last task."""

    async def update_log(self, request: Any) -> Any:
        self.cancel(request.tx_uuid)
        return await super().update_log(request)


@pytest.mark.asyncio
async def test_a_step_that_finished_before_the_runner_heard_of_the_cancel_stays_success() -> None:
    runner_schema = Schema(bundled_files())
    service = CancelAtFirstLog(runner_schema)
    task = synthetic_task(stages=2, steps=2, rows=5)
    service.add_task(task)
    bus = EventBus()
    model = LogModel()
    async with Server(
        build_table(service, runner_schema), listen="127.0.0.1:0", schema=runner_schema, bus=bus
    ) as server:
        with bus.subscribe() as events:
            channel = open_channel(ChannelSettings(Target.parse(server.url), protocol=RpcProtocol.CONNECT))
            try:
                summary = await SimulatedRunner(channel, runner_schema, "demo-runner-3").run()
            finally:
                await channel.aclose()
            model.ingest_many(events.drain())
    assert summary.cancelled == [task.tx_uuid] and summary.errors == 0
    # Step 0.0 sent all its rows and reported success; the answer said cancelled: the task
    # stops there, and the finished step is not reported again as cancelled.
    assert [e.state for e in model.tasks[task.tx_uuid].steps[(0, 0, 0)].history] == ["running", "success"]
    assert service.tasks[task.tx_uuid].steps[(0, 0, 0)].state == "success"
    assert service.tasks[task.tx_uuid].cancelled
    assert model.tasks[task.tx_uuid].badge == "cancelled"
    assert len(model.tasks[task.tx_uuid].steps) == 1
    states = [line for line in build_lines(model, ("task", task.tx_uuid)) if line.state]
    assert [(line.prefix, line.state) for line in states[-2:]] == [
        ("step-0.0 ", "success"),
        ("", "cancelled"),
    ]
    assert states[-1].text == f"── task {task.tx_uuid[:8]} cancelled ──"
