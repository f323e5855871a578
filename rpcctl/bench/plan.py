"""What a bench run does: stop condition, concurrency, pacing, warmup, processes and shards."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, replace

from rpcctl.errors import UsageError

DEFAULT_CONCURRENCY = 50
DEFAULT_TIMEOUT = 20.0


class ScheduleKind(enum.Enum):
    """ghz's load schedules."""

    CONST = "const"
    STEP = "step"
    LINE = "line"


class Pick(enum.Enum):
    """How requests are taken from a data file."""

    ROUND_ROBIN = "round-robin"
    RANDOM = "random"


@dataclass(frozen=True)
class LoadSchedule:
    """The open-loop rate over time, in calls per second (ghz's --load-* options)."""

    kind: ScheduleKind = ScheduleKind.CONST
    rps: float = 0.0
    start: float = 0.0
    end: float = 0.0
    step: float = 0.0
    step_duration: float = 1.0

    def rate_at(self, elapsed: float) -> float:
        """The rate due `elapsed` seconds into the run."""
        if self.kind is ScheduleKind.CONST:
            return self.rps
        if self.kind is ScheduleKind.STEP:
            rate = self.start + self.step * int(elapsed // self.step_duration)
        else:
            rate = self.start + self.step * elapsed
        if self.end > 0:
            rate = min(rate, self.end) if self.step >= 0 else max(rate, self.end)
        return max(rate, 0.0)

    def scaled(self, factor: float) -> LoadSchedule:
        """This schedule with every rate multiplied by `factor` (a share of the load)."""
        return replace(
            self,
            rps=self.rps * factor,
            start=self.start * factor,
            end=self.end * factor,
            step=self.step * factor,
        )


@dataclass(frozen=True)
class Shard:
    """`--shard i/N`: this machine runs part i (0-based) of N."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Parse `i/N`; `UsageError` unless 0 <= i < N."""
        try:
            left, right = text.split("/")
            index, count = int(left), int(right)
        except ValueError:
            raise UsageError(f"invalid --shard {text!r}: use i/N, e.g. 0/4") from None
        if count < 1 or not 0 <= index < count:
            raise UsageError(f"invalid --shard {text!r}: need 0 <= i < N")
        return cls(index, count)


@dataclass(frozen=True)
class BenchPlan:
    """The load one process (or the whole run, before `split`) applies."""

    concurrency: int = DEFAULT_CONCURRENCY
    total: int | None = None
    duration: float | None = None
    schedule: LoadSchedule | None = None
    warmup: float = 0.0
    timeout: float | None = DEFAULT_TIMEOUT
    connections: int = 1
    stream_messages: int = 1
    stream_interval: float = 0.0
    pick: Pick = Pick.ROUND_ROBIN
    seq_offset: int = 0
    seq_stride: int = 1
    worker_offset: int = 0

    def __post_init__(self) -> None:
        if self.total is None and self.duration is None:
            object.__setattr__(self, "total", 200)
        if self.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        if self.total is not None and self.total < 0:
            raise UsageError("--total must not be negative")
        if self.duration is not None and self.duration <= 0:
            raise UsageError("--duration must be positive")
        if self.connections < 1:
            raise UsageError("--connections must be at least 1")
        if self.stream_messages < 1:
            raise UsageError("--stream-messages must be at least 1")

    @property
    def open_loop(self) -> bool:
        """Calls start on schedule (a rate was given) rather than as soon as one ends."""
        return self.schedule is not None

    def split(self, parts: int) -> list[BenchPlan]:
        """The plan divided between `parts` processes: totals, concurrency, rate and connections."""
        if parts <= 1:
            return [self]
        plans = []
        for index in range(parts):
            total = None if self.total is None else _share(self.total, parts, index)
            plans.append(
                replace(
                    self,
                    concurrency=max(1, _share(self.concurrency, parts, index)),
                    total=total,
                    schedule=None if self.schedule is None else self.schedule.scaled(1 / parts),
                    connections=max(1, _share(self.connections, parts, index)),
                    seq_offset=self.seq_offset + index * self.seq_stride,
                    seq_stride=self.seq_stride * parts,
                    worker_offset=self.worker_offset
                    + sum(max(1, _share(self.concurrency, parts, i)) for i in range(index)),
                )
            )
        return plans

    def shard(self, shard: Shard) -> BenchPlan:
        """This machine's part of a plan run on `shard.count` machines."""
        if shard.count == 1:
            return self
        return self.split(shard.count)[shard.index]


def _share(amount: int, parts: int, index: int) -> int:
    """Part `index` of `amount` split into `parts` near-equal integers that add up to it."""
    return amount // parts + (1 if index < amount % parts else 0)


def default_workers() -> int:
    """One process per core the process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
