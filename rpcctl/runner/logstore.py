"""The stand-in server's log streams: every row a runner pushed with `UpdateLog`, in order.

A stream is keyed by (tx_uuid, stage_idx, step_row_idx, step_idx, action_idx) and holds
rows 0…n-1 with no hole. For a batch (`index`, `rows`, `no_more`) the answer is always
`ack_index` = the next index the stream expects after the batch:

- `index == next`: the rows are appended; ack = index + len(rows).
- `index < next` (a resend, or a batch overlapping stored rows): only the rows past
  `next` are appended, so nothing is duplicated; ack = the new next index. The
  overlapping rows are not compared with the stored ones.
- `index > next` (a gap): nothing is stored; ack = next, so the runner resends from it.
- `no_more` (on a batch that was accepted) closes the stream. A closed stream accepts a
  batch that adds nothing (a resend of the last batch, answered with the same ack) and
  refuses one that would add rows with `StreamClosedError` (FAILED_PRECONDITION).

Every row is kept: this is the reference that rows sent are compared against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rpcctl.runner.streamkey import StreamKey


class StreamClosedError(Exception):
    """Rows arrived for a stream that `no_more` already closed."""


class NegativeIndexError(Exception):
    """A batch started at a negative index."""


@dataclass
class StoredStream:
    """The rows of one stream and its bookkeeping."""

    key: StreamKey
    rows: list[str] = field(default_factory=list)
    closed: bool = False
    batches: int = 0
    gaps: int = 0
    resent_rows: int = 0

    @property
    def next_index(self) -> int:
        """The index of the next row the stream expects."""
        return len(self.rows)

    def append(self, index: int, rows: Sequence[str], no_more: bool) -> int:
        """Take one batch; return the ack index (see the module docstring for the rules)."""
        if index < 0:
            raise NegativeIndexError(f"index {index} is negative")
        self.batches += 1
        nxt = self.next_index
        if index > nxt:
            self.gaps += 1
            return nxt
        new = rows[nxt - index :]
        self.resent_rows += len(rows) - len(new)
        if self.closed:
            if new:
                raise StreamClosedError(
                    f"stream {'/'.join(map(str, self.key))} was closed by no_more at row {nxt}"
                )
            return nxt
        self.rows.extend(new)
        if no_more:
            self.closed = True
        return self.next_index


class LogStore:
    """Every log stream the stand-in server has seen."""

    def __init__(self) -> None:
        self.streams: dict[StreamKey, StoredStream] = {}

    def append(self, key: StreamKey, index: int, rows: Sequence[str], no_more: bool) -> int:
        """Take one batch for `key`; return the ack index."""
        if index < 0:
            raise NegativeIndexError(f"index {index} is negative")
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = StoredStream(key)
        return stream.append(index, rows, no_more)

    def rows(self, key: StreamKey) -> list[str]:
        """A copy of the rows stored for `key` (empty for an unknown stream)."""
        stream = self.streams.get(key)
        return list(stream.rows) if stream else []

    def task_rows(self, tx_uuid: str) -> dict[StreamKey, list[str]]:
        """The rows of every stream of one task, by key, in key order."""
        return {k: list(s.rows) for k, s in sorted(self.streams.items()) if k.tx_uuid == tx_uuid}

    @property
    def total_rows(self) -> int:
        """How many rows are stored across all streams."""
        return sum(len(s.rows) for s in self.streams.values())
