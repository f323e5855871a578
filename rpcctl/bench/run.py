"""Runs one job in this process or in several, with the live view attached."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpcctl.bench.job import BenchJob, PartResult
from rpcctl.bench.progress import ProgressBoard

if TYPE_CHECKING:
    from rpcctl.bench.live import LiveView


async def run_load(
    job: BenchJob, workers: int, board: ProgressBoard, live: LiveView | None = None
) -> PartResult:
    """Run `job` over `workers` processes (1: in this process), feeding `board` as it goes."""
    if live is not None:
        live.start()
    try:
        if workers <= 1:
            from rpcctl.bench.worker import LoadLoop, run_job

            def attach(loop: LoadLoop) -> None:
                board.attach(0, lambda: (loop.phase, loop.current))

            result = await run_job(job, on_loop=attach)
        else:
            from rpcctl.bench.processes import run_in_processes

            result = await run_in_processes(job, workers, board)
    finally:
        if live is not None:
            await live.stop()
    return result
