"""`BenchJob`: everything one process needs to run its part of a load (picklable)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from rpcctl.bench.balancer import Policy
from rpcctl.bench.payloads import HeaderSpec, PayloadSpec
from rpcctl.bench.plan import BenchPlan
from rpcctl.bench.stats import Stats

if TYPE_CHECKING:
    from rpcctl.call import MethodInfo
    from rpcctl.transport.target import ChannelSettings


@dataclass(frozen=True)
class BenchJob:
    """One process's load: the plan, the method, the backends and the requests."""

    plan: BenchPlan
    method: MethodInfo
    backends: tuple[tuple[str, ChannelSettings], ...]
    payloads: PayloadSpec
    headers: HeaderSpec = field(default_factory=HeaderSpec)
    policy: Policy = Policy.ROUND_ROBIN
    index: int = 0

    def split(self, parts: int) -> list[BenchJob]:
        """The job divided between `parts` processes."""
        return [replace(self, plan=plan, index=i) for i, plan in enumerate(self.plan.split(parts))]


@dataclass
class PartResult:
    """What one process measured; `interrupted` when Ctrl-C ended it early."""

    stats: Stats
    backends: dict[str, Stats]
    warmup_calls: int = 0
    warnings: list[str] = field(default_factory=list)
    part_counts: list[int] = field(default_factory=list)
    interrupted: bool = False

    def __post_init__(self) -> None:
        if not self.part_counts:
            self.part_counts = [self.stats.count]

    def merge(self, other: PartResult) -> None:
        """Add another process's part."""
        self.stats.merge(other.stats)
        for name, stats in other.backends.items():
            if name in self.backends:
                self.backends[name].merge(stats)
            else:
                self.backends[name] = stats
        self.warmup_calls += other.warmup_calls
        self.part_counts.extend(other.part_counts)
        self.warnings.extend(w for w in other.warnings if w not in self.warnings)
        self.interrupted = self.interrupted or other.interrupted

    def to_dict(self) -> dict[str, Any]:
        """A form that crosses a process boundary (and a JSON file)."""
        return {
            "stats": self.stats.to_dict(),
            "backends": {name: stats.to_dict() for name, stats in self.backends.items()},
            "warmup_calls": self.warmup_calls,
            "warnings": list(self.warnings),
            "part_counts": list(self.part_counts),
            **({"interrupted": True} if self.interrupted else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartResult:
        """Read back `to_dict`."""
        return cls(
            Stats.from_dict(data["stats"]),
            {name: Stats.from_dict(value) for name, value in data.get("backends", {}).items()},
            int(data.get("warmup_calls", 0)),
            list(data.get("warnings", [])),
            [int(n) for n in data.get("part_counts", [])],
            bool(data.get("interrupted", False)),
        )
