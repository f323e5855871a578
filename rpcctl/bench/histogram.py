"""Latency histograms: HdrHistogram in microseconds, encoded in the standard compressed form."""

from __future__ import annotations

from typing import Any

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour
SIGNIFICANT_FIGURES = 3
PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9)


class LatencyHistogram:
    """Call latencies, recorded in microseconds with 3 significant figures."""

    def __init__(self, hdr: Any | None = None) -> None:
        from hdrh.histogram import HdrHistogram

        self._hdr = hdr if hdr is not None else HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
        self.record_value = self._hdr.record_value  # the hot path skips one call level

    def record(self, seconds: float) -> None:
        """Add one latency, given in seconds."""
        self._hdr.record_value(min(max(int(seconds * 1e6), LOWEST_US), HIGHEST_US))

    @property
    def count(self) -> int:
        """How many latencies were recorded."""
        return int(self._hdr.get_total_count())

    def percentile_ms(self, percentile: float) -> float:
        """The latency at `percentile` (0-100), in milliseconds."""
        return float(self._hdr.get_value_at_percentile(percentile)) / 1000 if self.count else 0.0

    def min_ms(self) -> float:
        """The smallest latency, in milliseconds."""
        return float(self._hdr.get_min_value()) / 1000 if self.count else 0.0

    def max_ms(self) -> float:
        """The largest latency, in milliseconds."""
        return float(self._hdr.get_max_value()) / 1000 if self.count else 0.0

    def mean_ms(self) -> float:
        """The mean latency, in milliseconds."""
        return float(self._hdr.get_mean_value()) / 1000 if self.count else 0.0

    def summary_ms(self) -> dict[str, float]:
        """min, mean, the percentiles of `PERCENTILES` and max, in milliseconds."""
        out = {"min": self.min_ms(), "mean": self.mean_ms()}
        values = self._hdr.get_percentile_to_value_dict(list(PERCENTILES)) if self.count else {}
        for p in PERCENTILES:
            out[f"p{p:g}"] = float(values.get(p, 0)) / 1000
        out["max"] = self.max_ms()
        return {key: round(value, 3) for key, value in out.items()}

    def buckets_ms(self, count: int = 10) -> list[tuple[float, int]]:
        """`count` linear buckets from min to max: (upper bound in ms, calls up to it)."""
        if not self.count:
            return []
        low, high = self._hdr.get_min_value(), self._hdr.get_max_value()
        width = max((high - low) / count, 1)
        bounds = [low + width * (i + 1) for i in range(count)]
        counts = [0] * count
        for item in self._hdr.get_recorded_iterator():
            index = min(int((item.value_iterated_to - low) / width), count - 1)
            counts[index] += item.count_added_in_this_iter_step
        return [(bound / 1000, n) for bound, n in zip(bounds, counts, strict=True)]

    def add(self, other: LatencyHistogram) -> None:
        """Merge `other` into this histogram."""
        self._hdr.add(other._hdr)

    def encode(self) -> str:
        """The standard HdrHistogram V2 compressed encoding, base64 (HISTFAAA…)."""
        return str(self._hdr.encode().decode("ascii"))

    @classmethod
    def decode(cls, text: str) -> LatencyHistogram:
        """A histogram from `encode`'s output."""
        from hdrh.histogram import HdrHistogram

        merged = cls()
        if text:
            merged._hdr.add(HdrHistogram.decode(text.encode("ascii")))
        return merged
