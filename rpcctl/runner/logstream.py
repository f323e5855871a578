"""One log stream: the rows a runner pushed with `UpdateLog` for one action of one step.

A stream is keyed by (tx_uuid, stage_idx, step_row_idx, step_idx, action_idx). It knows
every index it ever received as a list of disjoint spans (usually one), so gaps and
duplicates are found even after old rows were dropped from memory; it keeps at most
`limit` rows, the ones with the highest indices.

- gap: an index below the highest received one that never arrived (a leading gap
  counts, since a runner's first row is index 0);
- duplicate: an index received twice, with the same text, a different text, or a text
  we can no longer compare because the row was dropped (`duplicates_unknown`);
- after no_more: rows carried by requests that arrived after the request with `no_more`;
- ack mismatch: an `UpdateLogResponse.ack_index` other than the request's
  `index + len(rows)` (counted by the log model, which pairs requests and responses).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from rpcctl.runner.streamkey import StreamKey

Run = tuple[int, int]
"""(first index, count) of rows that were new when they arrived."""


@dataclass(frozen=True, slots=True)
class Gap:
    """Indices `start` to `end - 1` never arrived."""

    start: int
    end: int

    @property
    def count(self) -> int:
        """How many rows are missing."""
        return self.end - self.start

    def __str__(self) -> str:
        return f"#{self.start}" if self.count == 1 else f"#{self.start}-#{self.end - 1}"


class LogStream:
    """The rows of one stream, ordered by index, with what went wrong counted."""

    __slots__ = (
        "_ends",
        "_starts",
        "ack_mismatches",
        "closed_at",
        "dropped",
        "duplicates_different",
        "duplicates_same",
        "duplicates_unknown",
        "indices",
        "key",
        "last_ack",
        "limit",
        "received",
        "requests",
        "rows_after_no_more",
        "texts",
    )

    def __init__(self, key: StreamKey, limit: int = 10_000) -> None:
        self.key = key
        self.limit = limit
        self.indices: list[int] = []
        """Indices of the rows kept in memory, ascending (parallel to `texts`)."""
        self.texts: list[str] = []
        self._starts: list[int] = []
        self._ends: list[int] = []
        self.received = 0
        """Distinct rows ever received."""
        self.dropped = 0
        """Rows received but no longer kept in memory."""
        self.requests = 0
        self.duplicates_same = 0
        self.duplicates_different = 0
        self.duplicates_unknown = 0
        self.rows_after_no_more = 0
        self.closed_at: int | None = None
        """`index + len(rows)` of the request with `no_more`, once it arrived."""
        self.ack_mismatches = 0
        self.last_ack: int | None = None

    # -- ingest -----------------------------------------------------------------------

    def add(self, index: int, rows: list[str], no_more: bool = False) -> list[Run]:
        """Record one `UpdateLog` request; return the runs of rows that were new."""
        self.requests += 1
        count = len(rows)
        if self.closed_at is not None:
            self.rows_after_no_more += count
        if no_more and self.closed_at is None:
            self.closed_at = index + count
        if not count:
            return []
        ends = self._ends
        if not ends or index >= ends[-1]:
            # The common case: rows that follow (or skip past) everything received so far.
            if ends and index == ends[-1]:
                ends[-1] = index + count
            else:
                self._starts.append(index)
                ends.append(index + count)
            self.indices.extend(range(index, index + count))
            self.texts.extend(rows)
            self.received += count
            if len(self.texts) > self.limit:
                self._trim()
            return [(index, count)]
        return self._add_slow(index, rows)

    def _add_slow(self, index: int, rows: list[str]) -> list[Run]:
        """Rows that overlap or precede what was received: one at a time."""
        runs: list[Run] = []
        for offset, text in enumerate(rows):
            position = index + offset
            if self.contains(position):
                self._count_duplicate(position, text)
                continue
            self._insert_span(position)
            slot = bisect_left(self.indices, position)
            self.indices.insert(slot, position)
            self.texts.insert(slot, text)
            self.received += 1
            if runs and runs[-1][0] + runs[-1][1] == position:
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((position, 1))
        if len(self.texts) > self.limit:
            self._trim()
        return runs

    def _count_duplicate(self, position: int, text: str) -> None:
        slot = bisect_left(self.indices, position)
        if slot < len(self.indices) and self.indices[slot] == position:
            if self.texts[slot] == text:
                self.duplicates_same += 1
            else:
                self.duplicates_different += 1
        else:
            self.duplicates_unknown += 1

    def _insert_span(self, position: int) -> None:
        starts, ends = self._starts, self._ends
        i = bisect_right(starts, position) - 1
        joins_left = i >= 0 and ends[i] == position
        joins_right = i + 1 < len(starts) and starts[i + 1] == position + 1
        if joins_left and joins_right:
            ends[i] = ends[i + 1]
            del starts[i + 1], ends[i + 1]
        elif joins_left:
            ends[i] = position + 1
        elif joins_right:
            starts[i + 1] = position
        else:
            starts.insert(i + 1, position)
            ends.insert(i + 1, position + 1)

    def _trim(self) -> None:
        excess = len(self.texts) - self.limit
        del self.indices[:excess]
        del self.texts[:excess]
        self.dropped += excess

    # -- queries ----------------------------------------------------------------------

    def contains(self, index: int) -> bool:
        """True if row `index` was ever received (kept or dropped)."""
        i = bisect_right(self._starts, index) - 1
        return i >= 0 and index < self._ends[i]

    @property
    def end(self) -> int:
        """One past the highest index received (0 for an empty stream)."""
        return self._ends[-1] if self._ends else 0

    @property
    def closed(self) -> bool:
        """True once a request with `no_more` arrived."""
        return self.closed_at is not None

    @property
    def gap_count(self) -> int:
        """How many gaps (ranges of missing rows) the stream has now."""
        if not self._starts:
            return 0
        return len(self._starts) - 1 + (1 if self._starts[0] > 0 else 0)

    def gaps(self) -> list[Gap]:
        """The ranges of rows that never arrived, ascending."""
        result: list[Gap] = []
        previous = 0
        for start, end in zip(self._starts, self._ends, strict=True):
            if start > previous:
                result.append(Gap(previous, start))
            previous = end
        return result

    @property
    def missing(self) -> int:
        """How many rows the gaps hold together."""
        return self.end - self.received

    @property
    def duplicates(self) -> int:
        """Every row received more than once."""
        return self.duplicates_same + self.duplicates_different + self.duplicates_unknown

    def gap_before(self, index: int) -> Gap | None:
        """The gap that ends just below `index`, if row `index - 1` never arrived."""
        if index <= 0 or self.contains(index - 1):
            return None
        i = bisect_right(self._starts, index - 1) - 1
        return Gap(self._ends[i] if i >= 0 else 0, index)

    def text(self, index: int) -> str | None:
        """The text of row `index` if it is kept in memory."""
        slot = bisect_left(self.indices, index)
        if slot < len(self.indices) and self.indices[slot] == index:
            return self.texts[slot]
        return None
