"""What the log view shows for a tree node: lines, gap markers and search matches.

Plain Python, tested without Textual. A node is named by a `NodeKey`:

    ("runner", uuid)  ("task", tx)  ("stage", tx, stage)
    ("step", tx, stage, row, step)  ("action", tx, stage, row, step, action)

An action node is one stream: its kept rows in index order, with a marker line where
rows are missing. Any larger node interleaves the streams under it in arrival order,
each line prefixed with its `stage/step/action`, with a marker where a stream's rows
resume after a gap.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from rpcctl.output.headless import stream_path
from rpcctl.runner.logmodel import LogModel
from rpcctl.runner.logstream import Gap, LogStream
from rpcctl.runner.streamkey import StreamKey

NodeKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the log view: a row (index set) or a marker (gap or dropped rows)."""

    text: str
    index: int | None = None
    prefix: str = ""
    gap: bool = False

    @property
    def marker(self) -> bool:
        """True for a gap or dropped-rows marker."""
        return self.index is None


def task_of(node: NodeKey | None) -> str | None:
    """The tx_uuid a node belongs to (None for a runner or no node)."""
    if node is None or node[0] == "runner" or len(node) < 2:
        return None
    return str(node[1])


def node_streams(model: LogModel, node: NodeKey) -> list[StreamKey]:
    """The streams under a node, ordered by key."""
    kind = node[0]
    if kind == "runner":
        runner = model.runners.get(str(node[1]))
        tasks = runner.tasks if runner is not None else []
        return sorted(k for tx in tasks for k in _task_streams(model, tx))
    tx = str(node[1])
    prefix = node[2:]
    return sorted(k for k in _task_streams(model, tx) if k[1 : 1 + len(prefix)] == prefix)


def _task_streams(model: LogModel, tx: str) -> list[StreamKey]:
    task = model.tasks.get(tx)
    return task.streams if task is not None else []


def gap_line(gap: Gap, prefix: str = "") -> LogLine:
    """The marker shown where `gap` is."""
    rows = "row" if gap.count == 1 else "rows"
    return LogLine(f"── {gap.count} {rows} missing: {gap} ──", prefix=prefix, gap=True)


def build_lines(model: LogModel, node: NodeKey | None) -> list[LogLine]:
    """The lines the log view shows for `node`."""
    if node is None:
        return []
    if node[0] == "action":
        tx, stage, row, step, action = node[1:6]
        stream = model.streams.get(StreamKey(str(tx), int(stage), int(row), int(step), int(action)))
        return stream_lines(stream) if stream is not None else []
    if node[0] == "runner":
        keys = node_streams(model, node)
        return interleaved_lines(model, {str(k[0]) for k in keys}, set(keys))
    return interleaved_lines(model, {str(node[1])}, set(node_streams(model, node)))


def stream_lines(stream: LogStream) -> list[LogLine]:
    """One stream's kept rows in index order, with gap and dropped-rows markers."""
    lines: list[LogLine] = []
    if stream.dropped:
        lines.append(LogLine(f"── {stream.dropped} older rows not kept in memory ──"))
    previous = None
    for index, text in zip(stream.indices, stream.texts, strict=True):
        if previous is None or index != previous + 1:
            gap = stream.gap_before(index)
            if gap is not None:
                lines.append(gap_line(gap))
        lines.append(LogLine(text, index))
        previous = index
    return lines


def interleaved_lines(model: LogModel, txs: Iterable[str], keys: set[StreamKey]) -> list[LogLine]:
    """The rows of `keys` in the order they arrived, prefixed with their stream path."""
    lines: list[LogLine] = []
    for tx in sorted(txs):
        task = model.tasks.get(tx)
        if task is None:
            continue
        prefixes: dict[StreamKey, str] = {}
        for key, start, count in task.arrivals:
            if key not in keys:
                continue
            stream = model.streams[key]
            prefix = prefixes.get(key)
            if prefix is None:
                prefix = prefixes[key] = stream_path(key) + " "
            gap = stream.gap_before(start)
            if gap is not None:
                lines.append(gap_line(gap, prefix))
            indices, texts = stream.indices, stream.texts
            # Rows of the run dropped from memory since are skipped (always the lowest).
            low, high = bisect_left(indices, start), bisect_left(indices, start + count)
            lines.extend(LogLine(texts[p], indices[p], prefix) for p in range(low, high))
    return lines


def find_matches(lines: list[LogLine], query: str) -> list[int]:
    """Line numbers whose text contains `query` (case-insensitive)."""
    if not query:
        return []
    needle = query.lower()
    return [n for n, line in enumerate(lines) if needle in line.text.lower()]


def gap_lines(lines: list[LogLine]) -> list[int]:
    """Line numbers of the gap markers."""
    return [n for n, line in enumerate(lines) if line.gap]


def next_after(positions: list[int], current: int, *, backwards: bool = False) -> int | None:
    """The first position after `current` (before, if `backwards`), wrapping around."""
    if not positions:
        return None
    if backwards:
        earlier = [p for p in positions if p < current]
        return earlier[-1] if earlier else positions[-1]
    later = [p for p in positions if p > current]
    return later[0] if later else positions[0]
