"""The event-loop side of a run: closed and open loops, warmup, stop conditions, recording."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from rpcctl.bench.balancer import Backend, Balancer
from rpcctl.bench.interrupt import StopSwitch
from rpcctl.bench.invoker import make_invoker
from rpcctl.bench.job import BenchJob, PartResult
from rpcctl.bench.payloads import Headers, Payloads
from rpcctl.bench.plan import BenchPlan
from rpcctl.bench.schedule import due_times
from rpcctl.bench.stats import Stats
from rpcctl.bench.template import CallContext
from rpcctl.errors import RpcError, TransportError
from rpcctl.wire.metadata import Metadata

# An open-loop call that starts this much after it was due counts as late.
LATE_AFTER = 0.01
# Below this, a due call starts at once rather than sleeping (timer resolution is ~1 ms).
MIN_SLEEP = 0.0005


class LoadLoop:
    """Makes the calls of one process, closed-loop or open-loop, and records them."""

    def __init__(
        self,
        job: BenchJob,
        balancer: Balancer,
        payloads: Payloads,
        headers: Headers,
        stop: StopSwitch | None = None,
    ) -> None:
        self.plan: BenchPlan = job.plan
        self.stop = stop
        self.balancer = balancer
        self.payloads = payloads
        self.headers = headers
        self.unary = not (job.method.kind.client_streams or job.method.kind.server_streams)
        self.messages = self.plan.stream_messages if job.method.kind.client_streams else 1
        self.per_backend = len(balancer.backends) > 1
        self.templated = payloads.constant is None or headers.templated
        self.current: Stats | None = None
        self.phase = "setup"
        self._calls = 0
        self._start = 0.0

    async def run(self, total: int | None, duration: float | None, record: bool) -> Stats:
        """One phase (warmup or measured): until `total` calls, `duration` seconds or the stop switch
        (the calls in flight then are cancelled and not recorded)."""
        stats = Stats()
        if record:
            for backend in self.balancer.backends:
                backend.stats = Stats()
            self.current = stats
        self._start = time.perf_counter()
        if self.plan.schedule is not None:
            body = self._open_loop(stats, total, duration)
        else:
            body = self._closed_loop(stats, total, duration)
        if self.stop is None:
            await body
        else:
            await self.stop.until(body)
        stats.elapsed = time.perf_counter() - self._start
        for backend in self.balancer.backends:
            backend.stats.elapsed = stats.elapsed
        return stats

    async def _closed_loop(self, stats: Stats, total: int | None, duration: float | None) -> None:
        remaining = [total if total is not None else -1]
        deadline = None if duration is None else self._start + duration
        clock = time.perf_counter

        async def worker(worker_id: int) -> None:
            while remaining[0] != 0:
                if deadline is not None and clock() >= deadline:
                    return
                remaining[0] -= 1
                await self._call(stats, worker_id)

        first = self.plan.worker_offset
        await asyncio.gather(*(worker(first + i) for i in range(self.plan.concurrency)))

    async def _open_loop(self, stats: Stats, total: int | None, duration: float | None) -> None:
        assert self.plan.schedule is not None
        loop = asyncio.get_running_loop()
        slots = asyncio.Semaphore(self.plan.concurrency)
        pending: set[asyncio.Task[None]] = set()
        worker_id = self.plan.worker_offset
        start = loop.time()

        async def one() -> None:
            try:
                await self._call(stats, worker_id)
            finally:
                slots.release()

        try:
            for index, due in enumerate(due_times(self.plan.schedule, duration)):
                if total is not None and index >= total:
                    break
                at = start + due
                wait = at - loop.time()
                if wait > MIN_SLEEP:
                    await asyncio.sleep(wait)
                await slots.acquire()
                if loop.time() - at > LATE_AFTER:
                    stats.late += 1
                task = loop.create_task(one())
                pending.add(task)
                task.add_done_callback(pending.discard)
            if pending:
                await asyncio.gather(*pending)
        finally:  # stopped early: the calls in flight go too
            for task in list(pending):
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def _call(self, stats: Stats, worker_id: int) -> None:
        seq = self.plan.seq_offset + self._calls * self.plan.seq_stride
        self._calls += 1
        ctx = CallContext(seq, worker_id) if self.templated else None
        metadata = self.headers.get(ctx) if ctx is not None and self.headers.templated else None
        backend = self.balancer.pick()
        invoker = backend.invoker()
        code: str | None = None
        message = ""
        backend.inflight += 1
        started = time.perf_counter()
        try:
            if self.unary:
                request = self.payloads.constant
                if request is None:
                    request = self.payloads.get(ctx)  # type: ignore[arg-type]
                await invoker.unary(request, metadata)
            else:
                requests = [
                    self.payloads.get(CallContext(seq * self.messages + i, worker_id))
                    for i in range(self.messages)
                ]
                # Read the count first: `stats.responses += await …` would lose concurrent updates.
                received = await invoker.stream(requests, self.plan.stream_interval, metadata)
                stats.responses += received
        except RpcError as exc:
            code, message = exc.code.name, exc.message
        except TransportError as exc:
            code, message = "UNAVAILABLE", str(exc)
        finally:
            backend.inflight -= 1
        ended = time.perf_counter()
        second = int(ended - self._start)
        stats.record(ended - started, second, code, message)
        if self.per_backend:
            backend.stats.record(ended - started, second, code, message)


async def run_job(
    job: BenchJob,
    *,
    ready: Callable[[], Awaitable[None]] | None = None,
    on_loop: Callable[[LoadLoop], None] | None = None,
    stop: StopSwitch | None = None,
) -> PartResult:
    """Connect, wait for `ready` (the other processes), warm up, run, close: one process's part.

    When `stop` trips, the part ends early with what it measured (`PartResult.interrupted`).
    """
    plan = job.plan
    backends = [
        Backend(
            name,
            [make_invoker(settings, job.method, _static(job), plan.timeout) for _ in range(plan.connections)],
        )
        for name, settings in job.backends
    ]
    balancer = Balancer(backends, job.policy)
    try:
        warnings = await (balancer.connect() if stop is None else stop.until(balancer.connect())) or []
        loop = LoadLoop(job, balancer, job.payloads.compile(plan.pick), job.headers.compile(), stop)
        if on_loop is not None:
            on_loop(loop)
        if ready is not None:
            await ready()
        warmup_calls = 0
        if plan.warmup > 0 and not _tripped(stop):
            loop.phase = "warmup"
            warmup_calls = (await loop.run(None, plan.warmup, record=False)).count
        stats = Stats()
        if not _tripped(stop):
            loop.phase = "run"
            stats = await loop.run(plan.total, plan.duration, record=True)
        loop.phase = "done"
        per_backend = {b.name: b.stats for b in backends} if len(backends) > 1 else {}
        return PartResult(stats, per_backend, warmup_calls, warnings, interrupted=_tripped(stop))
    finally:
        await balancer.aclose()


def _tripped(stop: StopSwitch | None) -> bool:
    return stop is not None and stop.tripped


def _static(job: BenchJob) -> Metadata:
    return job.headers.compile().static
