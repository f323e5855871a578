"""End to end: the simulator against the stand-in on a real server on 127.0.0.1:0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from rpcctl.call_events import EventBus, EventKind
from rpcctl.client import open_channel
from rpcctl.runner.handlers import build_table
from rpcctl.runner.simulator import RunnerOptions, SimulatedRunner
from rpcctl.runner.standin import StandInService
from rpcctl.runner.tasks import synthetic_task
from rpcctl.schema.registry import Schema
from rpcctl.server.serve import Server
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target

PREFIX = "/api/v1/pipeline"
PROTOCOLS = [RpcProtocol.GRPC, RpcProtocol.CONNECT, RpcProtocol.GRPC_WEB]
# grpcio cannot put a path prefix in front of /pkg.Service/Method, and the server answers
# only prefixed paths when it has a prefix: native gRPC runs against an unprefixed server
# until the server also serves unprefixed paths (see test_native_grpc_behind_a_prefix).
NO_PREFIX_YET = {RpcProtocol.GRPC}


class Served:
    """The stand-in behind a running server."""

    def __init__(self, service: StandInService, server: Server, bus: EventBus) -> None:
        self.service = service
        self.server = server
        self.bus = bus

    def channel(self, protocol: RpcProtocol, codec: str = "proto") -> Any:
        return open_channel(ChannelSettings(Target.parse(self.server.url), protocol=protocol, codec=codec))


@pytest.fixture
def prefix(protocol: RpcProtocol) -> str:
    """The path prefix the server runs under for a protocol's test."""
    return "" if protocol in NO_PREFIX_YET else PREFIX


@pytest_asyncio.fixture
async def served(runner_schema: Schema, prefix: str) -> AsyncIterator[Served]:
    service = StandInService(runner_schema)
    bus = EventBus()
    table = build_table(service, runner_schema)
    async with Server(table, listen="127.0.0.1:0", prefix=prefix, schema=runner_schema, bus=bus) as server:
        yield Served(service, server, bus)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("protocol", "codec"),
    [(p, "proto") for p in PROTOCOLS] + [(RpcProtocol.CONNECT, "json")],
    ids=lambda v: getattr(v, "value", v),
)
async def test_full_session(served: Served, runner_schema: Schema, protocol: RpcProtocol, codec: str) -> None:
    task = synthetic_task(stages=2, steps=2, actions=2, rows=37, labels=["linux"])
    served.service.add_task(task)
    options = RunnerOptions(keep_rows=True, batch_size=8, max_duration=30)
    with served.bus.subscribe() as events:
        channel = served.channel(protocol, codec)
        try:
            summary = await SimulatedRunner(channel, runner_schema, "e2e", ["linux"], options).run()
        finally:
            await channel.aclose()
        seen = events.drain()
    assert summary.ok, summary.last_error
    assert summary.tasks == [task.tx_uuid]
    assert served.service.rows(task.tx_uuid) == summary.sent
    assert sum(len(rows) for rows in summary.sent.values()) == 8 * 37 == summary.rows_acked
    assert served.service.tasks[task.tx_uuid].pipeline_state == "success"
    ends = [e for e in seen if e.kind is EventKind.END]
    assert len(ends) == summary.calls and all(e.info["code"] == 0 for e in ends)


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
async def test_cancellation_mid_task_stops_the_simulator(
    served: Served, runner_schema: Schema, protocol: RpcProtocol
) -> None:
    task = synthetic_task(stages=3, steps=3, actions=1, rows=10)
    served.service.add_task(task)
    updates = 0

    def cancel_after_some_updates(method: str, seconds: float, error: BaseException | None) -> None:
        nonlocal updates
        if method == "UpdateTask":
            updates += 1
            if updates == 3:
                served.service.cancel(task.tx_uuid)

    channel = served.channel(protocol)
    try:
        runner = SimulatedRunner(channel, runner_schema, options=RunnerOptions(max_duration=30))
        runner.observer = cancel_after_some_updates
        summary = await runner.run()
    finally:
        await channel.aclose()
    assert summary.cancelled == [task.tx_uuid] and summary.errors == 0
    record = served.service.tasks[task.tx_uuid]
    assert record.cancelled and len(record.steps) == 2  # the third step never started
    # The second step was running when the cancel came; it sent its rows and reported success
    # before an answer said cancelled: it keeps its success, and the task stops there.
    assert [s.state for s in record.steps.values()] == ["success", "success"]


@pytest.mark.asyncio
@pytest.mark.parametrize("prefix", [PREFIX])
async def test_native_grpc_behind_a_prefix(served: Served, runner_schema: Schema) -> None:
    channel = served.channel(RpcProtocol.GRPC)
    try:
        summary = await SimulatedRunner(channel, runner_schema, options=RunnerOptions(fetch_attempts=1)).run()
    finally:
        await channel.aclose()
    assert summary.ok, summary.last_error
