"""Runs one job in this process or in several, with the live view attached."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpcctl.bench.job import BenchJob, PartResult
from rpcctl.bench.progress import ProgressBoard

if TYPE_CHECKING:
    from rpcctl.bench.interrupt import StopSwitch
    from rpcctl.bench.live import LiveView


async def run_load(
    job: BenchJob,
    workers: int,
    board: ProgressBoard,
    live: LiveView | None = None,
    stop: StopSwitch | None = None,
) -> PartResult:
    """Run `job` over `workers` processes (1: in this process), feeding `board` as it goes;
    `stop` ends it early with what was measured (`PartResult.interrupted`)."""
    if live is not None:
        live.start()
    interrupted = True  # until the run ends normally (an error ends it too: no 100% then)
    try:
        if workers <= 1:
            from rpcctl.bench.worker import LoadLoop, run_job

            def attach(loop: LoadLoop) -> None:
                board.attach(0, lambda: (loop.phase, loop.current))

            result = await run_job(job, on_loop=attach, stop=stop)
        else:
            from rpcctl.bench.processes import run_in_processes

            result = await run_in_processes(job, workers, board, stop)
        interrupted = result.interrupted
    finally:
        if live is not None:
            await live.stop(interrupted=interrupted)
    return result
