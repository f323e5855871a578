"""`--scenario runner`: N simulated CI runners (rpcctl.runner.simulator) against a RunnerService.

Each runner registers, fetches tasks and pushes its log rows at `rows_per_sec` with UpdateLog
until the duration is spent or no task is left. The report's main record is UpdateLog's
latency; every method gets its own record, and the scenario block says how many rows the
server accepted per second and how many acks disagreed.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from rpcctl.bench.job import PartResult
from rpcctl.bench.stats import Stats
from rpcctl.errors import RpcError
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.bench.progress import ProgressBoard
    from rpcctl.client import Channel
    from rpcctl.schema.registry import Schema

MAIN_METHOD = "UpdateLog"
END_SLACK = 0.05


async def run_runners(
    channels: list[Channel],
    schema: Schema,
    *,
    runners: int,
    rows_per_sec: float,
    duration: float,
    board: ProgressBoard | None = None,
) -> tuple[PartResult, dict[str, Any]]:
    """Run the runners to the end; (the per-method records, the scenario's figures)."""
    from rpcctl.runner.simulator import RunnerOptions, SimulatedRunner

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
    simulated = [
        SimulatedRunner(
            channels[i % len(channels)], schema, f"rpcctl-bench-{i}", options=options, observer=observe
        )
        for i in range(runners)
    ]
    summaries = await asyncio.gather(*(runner.run() for runner in simulated))
    elapsed = time.perf_counter() - start
    for stats in per_method.values():
        stats.elapsed = elapsed
    main = per_method.get(MAIN_METHOD, Stats())
    main.elapsed = elapsed
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
    return PartResult(main, dict(sorted(per_method.items()))), figures
