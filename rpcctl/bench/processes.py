"""`--workers N`: the load spread over N processes (spawned, each its own event loop), merged.

The parent starts the children, waits until every one has connected, releases them together,
collects their progress snapshots for the live view and finally their results. A failure in
one child (cannot connect, bad input) stops them all and is raised in the parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue as queue_module
import signal
from collections.abc import Iterator
from typing import Any

from rpcctl.bench.interrupt import StopSwitch
from rpcctl.bench.job import BenchJob, PartResult
from rpcctl.bench.progress import ProgressBoard
from rpcctl.bench.stats import Stats
from rpcctl.errors import RpcctlError, TransportError, UsageError

SNAPSHOT_INTERVAL = 0.5
POLL = 0.1
JOIN_TIMEOUT = 5.0


async def run_in_processes(
    job: BenchJob, workers: int, board: ProgressBoard | None = None, stop: StopSwitch | None = None
) -> PartResult:
    """Run `job` split over `workers` processes; the merged result.

    When `stop` trips, every child stops early and sends what it measured (the children ignore
    SIGINT themselves: a Ctrl-C on a terminal reaches the whole process group).
    """
    ctx = multiprocessing.get_context("spawn")
    messages: Any = ctx.Queue()
    go: Any = ctx.Event()
    halt: Any = ctx.Event()
    parts = job.split(workers)
    procs = [ctx.Process(target=_child, args=(part, messages, go, halt), daemon=True) for part in parts]
    if stop is not None:
        stop.on_trip(halt.set)
        stop.on_trip(go.set)  # children still waiting for the others start, see the halt and end
    loop = asyncio.get_running_loop()
    results: dict[int, PartResult] = {}
    ready: set[int] = set()
    try:
        with _sigint_held():
            for proc in procs:
                proc.start()
        while len(results) < len(procs):
            try:
                message = await loop.run_in_executor(None, messages.get, True, POLL)
            except queue_module.Empty:
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise RpcctlError(
                        f"a bench worker process died (exit status {dead[0].exitcode})"
                    ) from None
                continue
            kind, index = message[0], message[1]
            if kind == "ready":
                ready.add(index)
                if len(ready) == len(procs):
                    go.set()
            elif kind == "progress" and board is not None:
                phase, data = message[2], message[3]
                board.update(index, phase, Stats.from_dict(data) if data else None)
            elif kind == "done":
                results[index] = PartResult.from_dict(message[2])
                if board is not None:  # a copy: the results are merged into the first one below
                    board.update(index, "done", PartResult.from_dict(message[2]).stats)
            elif kind == "error":
                raise _rebuild(message[2], message[3])
    finally:
        go.set()
        for proc in procs:
            await loop.run_in_executor(None, proc.join, JOIN_TIMEOUT)
            if proc.is_alive():
                proc.terminate()
                await loop.run_in_executor(None, proc.join, JOIN_TIMEOUT)
        messages.close()
        messages.join_thread()
    merged = results[0]
    for index in range(1, len(procs)):
        merged.merge(results[index])
    return merged


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """SIGINT blocked in this thread while children start: they inherit the mask, so a Ctrl-C
    while one still imports cannot kill it, and here it waits, pending, until the block ends
    (as multiprocessing's resource tracker starts its process)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _rebuild(kind: str, text: str) -> RpcctlError:
    if kind == "usage":
        return UsageError(text)
    if kind == "transport":
        return TransportError(text)
    return RpcctlError(text)


def _child(job: BenchJob, messages: Any, go: Any, halt: Any) -> None:
    """A worker process: run its part and send back snapshots and the result."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, and sets `halt`
    try:
        result = asyncio.run(_child_main(job, messages, go, halt))
    except UsageError as exc:
        messages.put(("error", job.index, "usage", str(exc)))
    except TransportError as exc:
        messages.put(("error", job.index, "transport", str(exc)))
    except BaseException as exc:  # reported to the parent, which decides the exit status
        messages.put(("error", job.index, "internal", f"{type(exc).__name__}: {exc}"))
    else:
        messages.put(("done", job.index, result.to_dict()))


async def _child_main(job: BenchJob, messages: Any, go: Any, halt: Any) -> PartResult:
    from rpcctl.bench.worker import LoadLoop, run_job

    loop = asyncio.get_running_loop()
    current: list[LoadLoop] = []
    stop = StopSwitch()

    async def ready() -> None:
        messages.put(("ready", job.index))
        await loop.run_in_executor(None, go.wait)

    async def report() -> None:
        while True:
            await asyncio.sleep(SNAPSHOT_INTERVAL)
            if current and current[0].current is not None:
                messages.put(
                    ("progress", job.index, current[0].phase, current[0].current.to_dict(derived=False))
                )

    async def watch() -> None:
        while not halt.is_set():
            await asyncio.sleep(POLL)
        stop.trip()

    helpers = [asyncio.ensure_future(report()), asyncio.ensure_future(watch())]
    try:
        return await run_job(job, ready=ready, on_loop=current.append, stop=stop)
    finally:
        for helper in helpers:
            helper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await helper
