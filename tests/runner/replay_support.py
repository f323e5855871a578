"""Helpers of the replay tests: record a capture through the proxy, serve a second stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rpcctl.call_events import EventBus
from rpcctl.client import open_channel
from rpcctl.proxy.forward import serve_proxy
from rpcctl.proxy.recorder import Recorder
from rpcctl.runner.handlers import build_table
from rpcctl.runner.simulator import RunnerOptions, RunSummary, SimulatedRunner
from rpcctl.runner.standin import StandInService
from rpcctl.runner.streamkey import StreamKey
from rpcctl.runner.tasks import Task, synthetic_task
from rpcctl.schema.registry import Schema
from rpcctl.server.serve import Server
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target

PREFIX = "/api/v1/pipeline"


@dataclass
class Recording:
    """A capture recorded through the proxy, and what the simulator sent."""

    path: Path
    tasks: list[Task]
    summaries: list[RunSummary]

    def sent(self, tx: str) -> dict[StreamKey, list[str]]:
        """The rows the simulator sent for recorded task `tx`."""
        for summary in self.summaries:
            found = {k: v for k, v in summary.sent.items() if k.tx_uuid == tx}
            if found:
                return found
        return {}


def task_shape(tx: str | None = None, labels: Sequence[str] = ("linux",)) -> Task:
    """The task the replay tests record (and queue, with another id, on the target)."""
    return synthetic_task(stages=2, steps=2, actions=2, rows=23, labels=labels, tx_uuid=tx)


@contextlib.asynccontextmanager
async def stand_in(
    schema: Schema,
    tasks: Sequence[Task] = (),
    prefix: str = PREFIX,
    service_class: type[StandInService] = StandInService,
) -> AsyncIterator[Served]:
    """A stand-in RunnerService (or a subclass) on 127.0.0.1:0, with its event bus."""
    service = service_class(schema, tasks)
    bus = EventBus()
    table = build_table(service, schema)
    async with Server(table, listen="127.0.0.1:0", prefix=prefix, schema=schema, bus=bus) as server:
        yield Served(service, server, bus)


@dataclass
class Served:
    """A running stand-in."""

    service: StandInService
    server: Server
    bus: EventBus

    def settings(self, protocol: RpcProtocol, codec: str = "json") -> ChannelSettings:
        """Channel settings that reach this server over `protocol`."""
        return ChannelSettings(Target.parse(self.server.url), protocol=protocol, codec=codec)


async def record(
    schema: Schema,
    path: Path,
    tasks: Sequence[Task],
    *,
    redact: bool = True,
    batch_size: int = 10,
) -> Recording:
    """Run one simulated runner per task through a recording proxy in front of a stand-in."""
    bus = EventBus()
    summaries = []
    async with (
        stand_in(schema, tasks) as source,
        Recorder(bus, path, schema, redact=redact),
        serve_proxy(source.server.url, bus=bus, schema=schema) as proxy,
    ):
        for n, _ in enumerate(tasks):
            channel = open_channel(ChannelSettings(Target.parse(proxy.url), protocol=RpcProtocol.CONNECT))
            try:
                options = RunnerOptions(keep_rows=True, batch_size=batch_size, max_duration=30)
                runner = SimulatedRunner(channel, schema, f"recorded-{n}", ["linux"], options)
                summary = await runner.run()
            finally:
                await channel.aclose()
            assert summary.ok, summary.last_error
            summaries.append(summary)
    return Recording(path, list(tasks), summaries)


def retarget(rows: dict[StreamKey, list[str]], tx: str) -> dict[StreamKey, list[str]]:
    """Recorded streams keyed by another task id."""
    return {key._replace(tx_uuid=tx): value for key, value in rows.items()}


@contextlib.contextmanager
def threaded_stand_in(schema: Schema, tasks: Sequence[Task] = (), prefix: str = PREFIX) -> Iterator[Served]:
    """`stand_in` served from a background thread's loop, for CLI tests (the CLI runs its own loop)."""
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        state["stop"], state["loop"] = stop, asyncio.get_running_loop()
        async with stand_in(schema, tasks, prefix) as served:
            state["served"] = served
            ready.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced to the test below
            state["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, name="stand-in", daemon=True)
    thread.start()
    ready.wait(10)
    if "error" in state:
        raise state["error"]
    try:
        yield state["served"]
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(10)
