"""What a run records: latencies, status codes, error messages, late calls, throughput per second."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rpcctl.bench.histogram import LatencyHistogram
from rpcctl.wire.metadata import sanitize_for_terminal

MAX_DISTINCT_MESSAGES = 100


@dataclass
class Stats:
    """The record of one run (or one backend of it), mergeable across processes and machines."""

    histogram: LatencyHistogram = field(default_factory=LatencyHistogram)
    count: int = 0
    errors: int = 0
    late: int = 0
    responses: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    timeline: dict[int, list[int]] = field(default_factory=dict)
    elapsed: float = 0.0

    def record(self, latency: float, second: int, code: str | None = None, message: str = "") -> None:
        """One finished call: its latency in seconds, the second of the run it ended in, its error."""
        self.count += 1
        self.histogram.record(latency)
        slot = self.timeline.get(second)
        if slot is None:
            slot = self.timeline[second] = [0, 0]
        slot[0] += 1
        if code is not None:
            self.errors += 1
            slot[1] += 1
            self.codes[code] += 1
            # A server's text, shown in reports and on terminals: escaped, kept to one line.
            shown = sanitize_for_terminal(message).replace("\n", "\\n")
            key = f"{code}: {shown}" if message else code
            if key in self.messages or len(self.messages) < MAX_DISTINCT_MESSAGES:
                self.messages[key] += 1

    @property
    def ok(self) -> int:
        """Calls that ended with OK."""
        return self.count - self.errors

    @property
    def rps(self) -> float:
        """Calls finished per second of the run."""
        return self.count / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def error_rate(self) -> float:
        """The share of calls that failed (0 when no call was made)."""
        return self.errors / self.count if self.count else 0.0

    def code_counts(self) -> dict[str, int]:
        """Calls per status code, OK first."""
        counts = {"OK": self.ok} if self.ok else {}
        counts.update(sorted(self.codes.items(), key=lambda item: -item[1]))
        return counts

    def merge(self, other: Stats) -> None:
        """Add `other` (another process's or machine's part of the same run) into this record."""
        self.histogram.add(other.histogram)
        self.count += other.count
        self.errors += other.errors
        self.late += other.late
        self.responses += other.responses
        self.codes.update(other.codes)
        self.messages.update(other.messages)
        for second, (calls, errors) in other.timeline.items():
            slot = self.timeline.setdefault(second, [0, 0])
            slot[0] += calls
            slot[1] += errors
        self.elapsed = max(self.elapsed, other.elapsed)

    def to_dict(self, *, derived: bool = True) -> dict[str, Any]:
        """The JSON form: counters, the encoded histogram and the timeline (`derived`: and summaries)."""
        if not derived:
            return {
                "count": self.count,
                "errors": self.errors,
                "late": self.late,
                "responses": self.responses,
                "elapsed_s": self.elapsed,
                "codes": dict(self.codes),
                "histogram": self.histogram.encode(),
            }
        return {
            "count": self.count,
            "ok": self.ok,
            "errors": self.errors,
            "late": self.late,
            "responses": self.responses,
            "elapsed_s": round(self.elapsed, 6),
            "rps": round(self.rps, 3),
            "error_rate": round(self.error_rate, 6),
            "latency_ms": self.histogram.summary_ms(),
            "codes": self.code_counts(),
            "messages": dict(self.messages.most_common()),
            "timeline": [[second, *self.timeline[second]] for second in sorted(self.timeline)],
            "histogram": self.histogram.encode(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stats:
        """Read back `to_dict`'s output (derived fields are recomputed)."""
        codes = Counter({k: int(v) for k, v in data.get("codes", {}).items() if k != "OK"})
        return cls(
            histogram=LatencyHistogram.decode(data.get("histogram", "")),
            count=int(data["count"]),
            errors=int(data.get("errors", 0)),
            late=int(data.get("late", 0)),
            responses=int(data.get("responses", 0)),
            codes=codes,
            messages=Counter({k: int(v) for k, v in data.get("messages", {}).items()}),
            timeline={int(row[0]): [int(row[1]), int(row[2])] for row in data.get("timeline", [])},
            elapsed=float(data.get("elapsed_s", 0.0)),
        )
