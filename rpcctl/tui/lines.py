"""What the log view shows for a tree node: rows, markers, state changes and search matches.

Plain Python, tested without Textual. A node is named by a `NodeKey`:

    ("runner", uuid)  ("task", tx)  ("stage", tx, stage)
    ("step", tx, stage, row, step)  ("action", tx, stage, row, step, action)

An action node is one stream: its kept rows in index order, with a marker line where
rows are missing (`── 2 rows missing: #3–#4 ──`) and each resent, refused or
after-`no_more` row marked. A larger node interleaves the streams under it by time
(each row's order key, see `LogStream`) while keeping every stream in index order,
each line prefixed with its action's name (`make`; `compile/make` when two steps have a
`make`; the `stage/step/action` indices where the task content names nothing), and
shows the steps' state changes (with message, time and duration) where they happened;
a task's or runner's view also the task's verdict (`── task 6f1c0000 failure ──`).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from rpcctl.output.headless import step_path, stream_path
from rpcctl.runner.logmodel import LogModel
from rpcctl.runner.logstream import Gap, LogStream, Mark
from rpcctl.runner.logtree import StateEntry, StepKey, TaskInfo
from rpcctl.runner.streamkey import StreamKey
from rpcctl.tui.naming import NodeKey, action_name, entry_text, step_name, task_name

NO_MARK = Mark(0)

MAX_LINES = 20_000
"""Lines a view of several streams keeps (the latest)."""

MARK_TAGS = (
    (Mark.REFUSED, "refused"),
    (Mark.CHANGED, "resent≠"),
    (Mark.RESENT, "resent"),
    (Mark.AFTER_NO_MORE, "after no_more"),
)
"""The tag a marked row shows, most important first (CHANGED implies RESENT)."""


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the log view: a row (index set), a marker (gap, dropped rows) or a state change."""

    text: str
    index: int | None = None
    prefix: str = ""
    gap: bool = False
    mark: Mark = NO_MARK
    state: str = ""
    """The new state, on a state-change line."""

    @property
    def marker(self) -> bool:
        """True for a gap, dropped-rows or state-change line."""
        return self.index is None

    @property
    def tags(self) -> list[str]:
        """The words the row's marks show: `refused`, `resent`, `resent≠`, `after no_more`."""
        mark = self.mark
        if not mark:
            return []
        tags = [tag for flag, tag in MARK_TAGS if flag in mark]
        return [t for t in tags if not (t == "resent" and "resent≠" in tags)]


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


def _bare(name: str) -> str:
    """`make` from `make #0`; '' for an unnamed `action 0` / `step 1`."""
    head, sep, _ = name.rpartition(" #")
    return head if sep else ""


def stream_label(model: LogModel, key: StreamKey, *, with_step: bool) -> str:
    """`make`, or `compile/make` `with_step`; the `stage/step/action` path when a name is missing."""
    task = model.tasks.get(str(key[0]))
    if task is None:
        return stream_path(key)
    step_key: StepKey = (key[1], key[2], key[3])
    action = _bare(action_name(task, step_key, key[4]))
    if not action:
        return stream_path(key)
    if not with_step:
        return action
    step = _bare(step_name(task, step_key))
    return f"{step}/{action}" if step else stream_path(key)


def _step_label(task: TaskInfo, key: StepKey) -> str:
    return _bare(step_name(task, key)) or step_path(key)


def build_lines(model: LogModel, node: NodeKey | None) -> list[LogLine]:
    """The lines the log view shows for `node`."""
    if node is None:
        return []
    if node[0] == "action":
        tx, stage, row, step, action = node[1:6]
        key = StreamKey(str(tx), int(stage), int(row), int(step), int(action))
        stream = model.streams.get(key)
        task = model.tasks.get(str(tx))
        states = _action_entries(task, key) if task is not None else []
        return _merge([stream] if stream is not None else [], states)
    keys = node_streams(model, node)
    streams = [model.streams[k] for k in keys]
    txs = sorted({str(k[0]) for k in keys} | ({str(node[1])} if node[0] != "runner" else set()))
    entries: list[tuple[int, LogLine]] = []
    for tx in txs:
        task = model.tasks.get(tx)
        if task is not None:
            prefix = tuple(int(p) for p in node[2:]) if node[0] != "runner" else ()
            entries.extend(_step_entries(task, prefix, actions=node[0] == "step"))
            if node[0] in ("runner", "task"):  # the task's verdict, named: never taken for a step's
                entries.extend(_state_line(task_name(task), e) for e in task.history)
    labels = [stream_label(model, k, with_step=False) for k in keys]
    if len(set(labels)) < len(labels):  # an action name in two steps: say which step
        labels = [stream_label(model, k, with_step=True) for k in keys]
    width = max((len(label) for label in labels), default=0)
    return _merge(streams, entries, prefixes=[label.ljust(width) + " " for label in labels])


def stream_lines(stream: LogStream) -> list[LogLine]:
    """One stream's kept rows in index order, with gap, dropped-rows and row marks."""
    return _merge([stream], [])


def _state_line(what: str, entry: StateEntry, prefix: str = "") -> tuple[int, LogLine]:
    return entry.seq, LogLine(f"── {entry_text(what, entry)} ──", prefix=prefix, state=entry.state)


def _step_entries(task: TaskInfo, prefix: tuple[int, ...], *, actions: bool) -> list[tuple[int, LogLine]]:
    """The state changes of the steps under `prefix` (and their actions' on a step view)."""
    entries: list[tuple[int, LogLine]] = []
    for key in sorted(task.steps):
        if key[: len(prefix)] != prefix:
            continue
        step = task.steps[key]
        path = _step_label(task, key) + " "
        entries.extend(_state_line(step_name(task, key), e, path) for e in step.history)
        if actions:
            for index in sorted(step.actions):
                name = action_name(task, key, index)
                where = (_bare(name) or f"{step_path(key)}/{index}") + " "
                entries.extend(_state_line(name, e, where) for e in step.actions[index].history)
    return entries


def _action_entries(task: TaskInfo, key: StreamKey) -> list[tuple[int, LogLine]]:
    step_key: StepKey = (key[1], key[2], key[3])
    step = task.steps.get(step_key)
    info = step.actions.get(key[4]) if step is not None else None
    if info is None:
        return []
    return [_state_line(action_name(task, step_key, key[4]), e) for e in info.history]


def _stream_entries(stream: LogStream, prefix: str, first: int) -> list[tuple[int, LogLine]]:
    """(order key, line) of a stream's kept rows from slot `first` on, with its markers, in index order."""
    entries: list[tuple[int, LogLine]] = []
    indices, texts, order, marks = stream.indices, stream.texts, stream.order, stream.marks
    if stream.dropped or first:
        hidden = stream.dropped + first
        key = order[first - 1] if first else (order[0] if order else 0)  # where the hidden rows end
        entries.append((key, LogLine(f"── {hidden} older rows not shown ──", prefix=prefix)))
    previous: int | None = None
    for slot in range(first, len(indices)):
        index = indices[slot]
        if previous is None or index != previous + 1:
            gap = stream.gap_before(index)
            if gap is not None and (previous is not None or not first):
                entries.append((order[slot], gap_line(gap, prefix)))
        entries.append((order[slot], LogLine(texts[slot], index, prefix, mark=marks.get(index, NO_MARK))))
        previous = index
    return entries


def _first_slots(streams: list[LogStream], limit: int) -> list[int]:
    """Per stream, the first kept slot among the `limit` rows with the highest order keys overall.

    The order keys of a stream never decrease, so a threshold found by bisection splits every
    stream at one slot: this costs a few bisections per stream instead of sorting every row.
    """
    orders = [stream.order for stream in streams]
    if sum(len(order) for order in orders) <= limit:
        return [0] * len(streams)
    low, high = 0, max(order[-1] for order in orders if order) + 1
    while low < high:  # the lowest threshold that keeps at most `limit` rows
        middle = (low + high) // 2
        if sum(len(order) - bisect_left(order, middle) for order in orders) <= limit:
            high = middle
        else:
            low = middle + 1
    return [bisect_left(order, low) for order in orders]


def _merge(
    streams: list[LogStream], entries: list[tuple[int, LogLine]], *, prefixes: list[str] | None = None
) -> list[LogLine]:
    """Streams (each in index order, its lines starting with `prefixes[n]`, none by default)
    and state lines, interleaved by order key; the last MAX_LINES."""
    keyed: list[tuple[int, int, int, LogLine]] = []
    for number, (stream, first) in enumerate(zip(streams, _first_slots(streams, MAX_LINES), strict=True)):
        prefix = prefixes[number] if prefixes is not None else ""
        for position, (key, line) in enumerate(_stream_entries(stream, prefix, first)):
            keyed.append((key, 1, number * 10_000_000 + position, line))
    keyed.extend((key, 0, position, line) for position, (key, line) in enumerate(entries))
    keyed.sort(key=lambda item: item[:3])
    return [item[3] for item in keyed[-MAX_LINES:]]


def find_matches(lines: list[LogLine], query: str) -> list[int]:
    """Line numbers whose text contains `query` (case-insensitive)."""
    if not query:
        return []
    needle = query.lower()
    return [n for n, line in enumerate(lines) if needle in line.text.lower()]


def marked_lines(lines: list[LogLine]) -> list[int]:
    """Line numbers of gap markers and of refused, resent or after-no_more rows."""
    return [n for n, line in enumerate(lines) if line.gap or line.mark]


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
