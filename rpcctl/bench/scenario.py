"""`--scenario runner`: N simulated CI runners (rpcctl.runner.simulator) against a RunnerService.

Each runner registers, fetches tasks and pushes its log rows at `rows_per_sec` with UpdateLog
until the duration is spent or no task is left. Runner starts are spread over one batch
interval (`start_offsets`), as real runners are not in step. The report's main record is UpdateLog's
latency; every method gets its own record, and the scenario block says how many rows the
server accepted per second and how many acks disagreed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rpcctl.bench.job import PartResult
from rpcctl.bench.stats import Stats
from rpcctl.errors import RpcError
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.bench.interrupt import StopSwitch
    from rpcctl.bench.progress import ProgressBoard
    from rpcctl.call import Channel
    from rpcctl.schema.registry import Schema

MAIN_METHOD = "UpdateLog"
END_SLACK = 0.05
MAX_STAGGER = 1.0  # seconds over which runner starts are spread, at most


def start_offsets(runners: int, batch_interval: float) -> list[float]:
    """When each runner starts: evenly over one batch interval (at most `MAX_STAGGER`).

    CI runners are not in step with each other. Started together, N simulated runners would
    send their UpdateLog batches in the same instant every interval, and the p99 would measure
    that thundering herd (150 runners at 100 rows/s: about 150 calls at once twice a second)
    rather than the load. Spread over an interval, the same rows arrive at an even rate.
    """
    spread = min(max(batch_interval, 0.0), MAX_STAGGER)
    return [spread * i / runners for i in range(runners)] if runners > 0 else []


async def run_runners(
    channels: Sequence[Channel],
    schema: Schema,
    *,
    runners: int,
    rows_per_sec: float,
    duration: float,
    board: ProgressBoard | None = None,
    stop: StopSwitch | None = None,
) -> tuple[PartResult, dict[str, Any]]:
    """Run the runners to the end; (the per-method records, the scenario's figures).

    When `stop` trips, the runners are cancelled: the records keep the calls that ended, and the
    figures leave out the row counts, which only a runner that finished reports.
    """
    from rpcctl.runner.simulator import RunnerOptions, RunSummary, SimulatedRunner

    per_method: dict[str, Stats] = {}
    start = time.perf_counter()
    cut = [0]

    def observe(method: str, seconds: float, error: BaseException | None) -> None:
        name = method.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
        stats = per_method.get(name)
        if stats is None:
            stats = per_method[name] = Stats()
        code = None
        message = ""
        ended = time.perf_counter() - start
        if (
            isinstance(error, RpcError)
            and error.code is Code.DEADLINE_EXCEEDED
            and ended >= duration - END_SLACK
        ):
            # The simulator cuts its last deadlines to what is left of its time budget.
            cut[0] += 1
            return
        if error is not None:
            code = error.code.name if isinstance(error, RpcError) else "UNAVAILABLE"
            message = error.message if isinstance(error, RpcError) else str(error)
        stats.record(seconds, int(ended), code, message)

    if board is not None:
        board.attach(0, lambda: ("run", per_method.get(MAIN_METHOD)))
    options = RunnerOptions(
        tasks=1_000_000,
        rows_per_action=max(20, int(rows_per_sec * duration)),
        rows_per_second=rows_per_sec,
        max_duration=duration,
        fetch_attempts=1,
    )
    offsets = start_offsets(runners, options.batch_size / rows_per_sec if rows_per_sec > 0 else 0.0)
    simulated = [
        SimulatedRunner(
            channels[i % len(channels)],
            schema,
            f"rpcctl-bench-{i}",
            options=replace(options, max_duration=max(duration - offsets[i], 0.0)),
            observer=observe,
        )
        for i in range(runners)
    ]

    async def run(runner: SimulatedRunner, offset: float) -> RunSummary:
        if offset:
            await asyncio.sleep(offset)
        return await runner.run()

    starts = zip(simulated, offsets, strict=True)
    everyone = asyncio.gather(*(run(runner, offset) for runner, offset in starts))
    summaries = await (everyone if stop is None else stop.until(everyone))
    elapsed = time.perf_counter() - start
    for stats in per_method.values():
        stats.elapsed = elapsed
    main = per_method.get(MAIN_METHOD, Stats())
    main.elapsed = elapsed
    by_method = dict(sorted(per_method.items()))
    if summaries is None:
        known = {"runners": runners, "rows_per_sec_per_runner": rows_per_sec}
        return PartResult(main, by_method, interrupted=True), known
    rows_acked = sum(s.rows_acked for s in summaries)
    figures = {
        "runners": runners,
        "rows_per_sec_per_runner": rows_per_sec,
        "rows_sent": sum(s.rows_sent for s in summaries),
        "rows_acked": rows_acked,
        "rows_acked_per_sec": round(rows_acked / elapsed, 1) if elapsed > 0 else 0.0,
        "ack_mismatches": sum(s.ack_mismatches for s in summaries),
        "runners_without_task": sum(1 for s in summaries if not s.tasks),
        "runner_errors": sum(s.errors for s in summaries) - cut[0],
        "calls_cut_at_end": cut[0],
        "last_error": next((s.last_error for s in summaries if s.last_error), ""),
    }
    return PartResult(main, by_method), figures
