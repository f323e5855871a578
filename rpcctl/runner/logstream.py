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
  `index + len(rows)` (counted by the log model, which pairs requests and responses);
  when the server answered an earlier `ack_index`, the rows from it on were refused.

Each kept row also has an order key: the arrival number of the row, lowered to the
key of the row after it when it arrived later (a resent row filling a gap), so that
views interleaving several streams by time keep each stream in index order. Rows that
were resent, refused or sent after `no_more` carry `Mark` flags.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from enum import IntFlag

from rpcctl.runner.streamkey import StreamKey


class Mark(IntFlag):
    """What happened to a row besides arriving once, in index order, before `no_more`."""

    RESENT = 1
    """The row arrived more than once."""
    CHANGED = 2
    """A resent copy had a different text."""
    REFUSED = 4
    """The server answered a request carrying it with an earlier `ack_index`."""
    AFTER_NO_MORE = 8
    """The row came in a request after the one with `no_more`."""


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
        return f"#{self.start}" if self.count == 1 else f"#{self.start}–#{self.end - 1}"


class LogStream:
    """The rows of one stream, ordered by index, with what went wrong counted."""

    __slots__ = (
        "_ends",
        "_starts",
        "ack_mismatches",
        "acked",
        "closed_at",
        "dropped",
        "duplicates_different",
        "duplicates_same",
        "duplicates_unknown",
        "indices",
        "key",
        "last_ack",
        "limit",
        "marks",
        "order",
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
        self.order: list[int] = []
        """Order key of each kept row (parallel to `indices`), non-decreasing."""
        self.marks: dict[int, Mark] = {}
        """Flags of the kept rows that have any."""
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
        self.acked = 0
        """The highest `ack_index` the server answered."""

    # -- ingest -----------------------------------------------------------------------

    def add(self, index: int, rows: list[str], no_more: bool = False, seq: int | None = None) -> list[Run]:
        """Record one `UpdateLog` request arriving as number `seq`; return the runs of new rows.

        `seq` must grow from call to call (default: the request count).
        """
        self.requests += 1
        if seq is None:
            seq = self.requests
        count = len(rows)
        late = self.closed_at is not None
        if late:
            self.rows_after_no_more += count
        if no_more and self.closed_at is None:
            self.closed_at = index + count
        if not count:
            return []
        runs = self._add(index, rows, seq)
        if late:
            self.mark(index, index + count, Mark.AFTER_NO_MORE)
        return runs

    def _add(self, index: int, rows: list[str], seq: int) -> list[Run]:
        count = len(rows)
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
            self.order.extend([seq] * count)
            self.received += count
            if len(self.texts) > self.limit:
                self._trim()
            return [(index, count)]
        return self._add_slow(index, rows, seq)

    def _add_slow(self, index: int, rows: list[str], seq: int) -> list[Run]:
        """Rows that overlap or precede what was received: one at a time."""
        runs: list[Run] = []
        for offset, text in enumerate(rows):
            position = index + offset
            if self.contains(position):
                self._count_duplicate(position, text)
                continue
            self._insert_span(position)
            slot = bisect_left(self.indices, position)
            # A row arriving after the rows that follow it sorts with them (its seq is the highest).
            key = self.order[slot] if slot < len(self.order) else seq
            self.indices.insert(slot, position)
            self.texts.insert(slot, text)
            self.order.insert(slot, key)
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
                self.marks[position] = self.marks.get(position, Mark(0)) | Mark.RESENT
            else:
                self.duplicates_different += 1
                self.marks[position] = self.marks.get(position, Mark(0)) | Mark.RESENT | Mark.CHANGED
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
        del self.order[:excess]
        self.dropped += excess
        if self.marks:
            low = self.indices[0] if self.indices else self.end
            self.marks = {i: m for i, m in self.marks.items() if i >= low}

    def mark(self, start: int, end: int, flag: Mark) -> None:
        """Add `flag` to the kept rows `start`…`end - 1`."""
        indices, marks = self.indices, self.marks
        for slot in range(bisect_left(indices, start), bisect_left(indices, end)):
            position = indices[slot]
            marks[position] = marks.get(position, Mark(0)) | flag

    def unmark(self, start: int, end: int, flag: Mark) -> None:
        """Remove `flag` from the marked rows `start`…`end - 1`."""
        indices, marks = self.indices, self.marks
        if not marks:
            return
        for slot in range(bisect_left(indices, start), bisect_left(indices, end)):
            position = indices[slot]
            mark = marks.get(position)
            if mark is not None and flag in mark:
                if mark & ~flag:
                    marks[position] = mark & ~flag
                else:
                    del marks[position]

    def answer(self, index: int, count: int, ack: int) -> bool:
        """The server answered `ack` to the request of `count` rows at `index`; False on a mismatch.

        An `ack` below `index + count` refuses the rows from `max(ack, index)` on; the rows
        the answer accepts (`index`…`min(ack, index + count) - 1`) lose an earlier refusal,
        so REFUSED marks only rows the server never took.
        """
        self.last_ack = ack
        self.acked = max(self.acked, ack)
        expected = index + count
        self.unmark(index, min(ack, expected), Mark.REFUSED)
        if ack == expected:
            return True
        self.ack_mismatches += 1
        if ack < expected:
            self.mark(max(ack, index), expected, Mark.REFUSED)
        return False

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
