"""The view of a run while it goes: a rich Live panel on a terminal, a line every few seconds otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import IO, Any

from rpcctl.bench.progress import ProgressBoard
from rpcctl.bench.stats import Stats

TTY_REFRESH = 0.25
LINE_INTERVAL = 5.0
# The current rate is measured over this many seconds: worker processes report every half
# second, so a rate between two refreshes a quarter second apart would swing between 0 and 2x.
RATE_WINDOW = 2.0


class LiveView:
    """Renders a `ProgressBoard` until stopped."""

    def __init__(
        self,
        board: ProgressBoard,
        stream: IO[str],
        *,
        tty: bool,
        label: str,
        total: int | None,
        duration: float | None,
        console: Any | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.board = board
        self.stream = stream
        self.tty = tty
        self.label = label
        self.total = total
        self.duration = duration
        self.console = console
        self._task: asyncio.Task[None] | None = None
        self._clock = clock
        self._run_started: float | None = None
        self._samples: deque[tuple[float, int]] = deque([(clock(), 0)])  # (time, calls), oldest first
        self._ending: str | None = None  # "done" or "interrupted" once stopped

    def start(self) -> None:
        """Start rendering in the background."""
        self._task = asyncio.ensure_future(self._tty() if self.tty else self._lines())

    async def stop(self, *, interrupted: bool = False) -> None:
        """Stop rendering; the TTY panel's last frame shows the end (100% unless `interrupted`)."""
        self._ending = "interrupted" if interrupted else "done"
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def line(self) -> str:
        """One line of progress, for a log."""
        phase, stats = self.board.snapshot()
        elapsed, current, average = self._rates(phase, stats)
        codes = " ".join(f"{code}={n}" for code, n in stats.code_counts().items() if code != "OK")
        return (
            f"[{self.label}] {phase} {elapsed:6.1f}s calls={stats.count} rps={current:.0f} "
            f"avg={average:.0f} p50={stats.histogram.percentile_ms(50):.2f}ms "
            f"p99={stats.histogram.percentile_ms(99):.2f}ms errors={stats.errors}"
            + (f" {codes}" if codes else "")
        )

    def _rates(self, phase: str, stats: Stats) -> tuple[float, float, float]:
        now = self._clock()
        if phase in ("run", "done") and self._run_started is None:
            self._run_started = now
            self._samples = deque([(now, stats.count)])  # the rate counts from here, not from connecting
        elapsed = now - self._run_started if self._run_started is not None else 0.0
        samples = self._samples
        while len(samples) > 1 and now - samples[1][0] >= RATE_WINDOW:
            samples.popleft()  # keep one sample at least RATE_WINDOW old as the base
        base_at, base_count = samples[0]
        current = (stats.count - base_count) / (now - base_at) if now > base_at else 0.0
        samples.append((now, stats.count))
        average = stats.count / elapsed if elapsed > 0 else 0.0
        return elapsed, current, average

    async def _lines(self) -> None:
        while True:
            await asyncio.sleep(LINE_INTERVAL)
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    async def _tty(self) -> None:
        from rich.live import Live

        with Live(self._panel(), console=self.console, refresh_per_second=4, transient=False) as live:
            try:
                while True:
                    await asyncio.sleep(TTY_REFRESH)
                    live.update(self._panel())
            finally:  # stopped: one last frame, as the run ended
                live.update(self._panel(), refresh=True)

    def _panel(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        phase, stats = self.board.snapshot()
        elapsed, current, average = self._rates(phase, stats)
        if self._ending is not None:
            phase = self._ending
            elapsed = stats.elapsed or elapsed
            average = stats.rps or average
        # Two short lines rather than one wide grid: they fit an 80-column terminal.
        rate = f"{current:.0f}/s now  {average:.0f}/s avg"
        first = f"[bold]{self.label}[/] {phase}  {elapsed:.1f}s  calls {stats.count}  {rate}"
        codes = ", ".join(f"{code} {n}" for code, n in stats.code_counts().items() if code != "OK")
        second = (
            f"p50 {stats.histogram.percentile_ms(50):.2f} ms  p99 {stats.histogram.percentile_ms(99):.2f} ms"
            f"  errors {stats.errors}" + (f" ({codes})" if codes else "")
        )
        done, end = self._progress(stats, elapsed)
        outer = Table.grid()
        outer.add_row(first)
        outer.add_row(second)
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=end, completed=done, width=60), f"{100 * done / end:.0f}%")
        outer.add_row(bar)
        return outer

    def _progress(self, stats: Stats, elapsed: float) -> tuple[float, float]:
        if self._ending == "done":
            return 1.0, 1.0  # every call ended, or the duration ran out: whatever the clocks say
        if self.total is not None:
            return float(stats.count), float(max(self.total, 1))
        if self.duration is not None:
            return min(elapsed, self.duration), self.duration
        return 0.0, 1.0
