"""What the live view reads while a run goes: the latest record of each process, merged on demand."""

from __future__ import annotations

import threading
from collections.abc import Callable

from rpcctl.bench.stats import Stats

PHASES = ("setup", "warmup", "run", "done")


class ProgressBoard:
    """The latest snapshot of each part of a run (processes, or one in-process loop)."""

    def __init__(self, parts: int) -> None:
        self.parts = parts
        self._lock = threading.Lock()
        self._phases = ["setup"] * parts
        self._stats: list[Stats | None] = [None] * parts
        self._sources: list[Callable[[], tuple[str, Stats | None]] | None] = [None] * parts

    def attach(self, index: int, source: Callable[[], tuple[str, Stats | None]]) -> None:
        """Read part `index` live from `source` (an in-process loop)."""
        self._sources[index] = source

    def update(self, index: int, phase: str, stats: Stats | None) -> None:
        """Store the latest snapshot of part `index` (sent by a worker process)."""
        with self._lock:
            self._phases[index] = phase
            if stats is not None:
                self._stats[index] = stats

    def snapshot(self) -> tuple[str, Stats]:
        """The least advanced phase of the parts and their records merged."""
        merged = Stats()
        phases: list[str] = []
        with self._lock:
            for index in range(self.parts):
                source = self._sources[index]
                if source is not None:
                    phase, stats = source()
                else:
                    phase, stats = self._phases[index], self._stats[index]
                phases.append(phase)
                if stats is not None:
                    merged.merge(stats)
        phase = min(phases, key=PHASES.index) if phases else "setup"
        return phase, merged
