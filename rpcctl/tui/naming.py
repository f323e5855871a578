"""How the TUI names a tree node: from the task content's names, with the indices.

A stage, step or action reads `build #0`, `compile #1`, `make #0` when the FetchTask
content named it, else `stage 0`, `step 1`, `action 0`. A node's state is a badge
(`✘ failed`), the same in the tree and in the log pane's title. Plain Python, no Textual.
"""

from __future__ import annotations

import time

from rpcctl.runner.logmodel import LogModel
from rpcctl.runner.logtree import Badge, StateEntry, StepKey, TaskInfo, badge_of, stage_badge
from rpcctl.runner.streamkey import StreamKey

NodeKey = tuple[str | int, ...]
"""A tree node: ("runner", uuid), ("task", tx), ("stage", tx, stage),
("step", tx, stage, row, step) or ("action", tx, stage, row, step, action)."""


BADGE_GLYPHS = {
    Badge.PENDING: "○",
    Badge.RUNNING: "●",
    Badge.SUCCESS: "✔",
    Badge.FAILED: "✘",
    Badge.CANCELLED: "⊘",
    Badge.SKIPPED: "–",
}
"""The glyph of each badge; the badge word follows it, so colour is never the only cue."""


def stage_name(task: TaskInfo, stage: int) -> str:
    """`build #0`, or `stage 0`."""
    name = task.names.stages.get(stage)
    return f"{name} #{stage}" if name else f"stage {stage}"


def step_name(task: TaskInfo, key: StepKey) -> str:
    """`compile #1`, or `step 1`: the step row, or the step in row 0, or `#row.step` for both."""
    _, row, index = key
    number = f"{row}.{index}" if row and index else f"{row or index}"
    name = task.names.steps.get(key)
    return f"{name} #{number}" if name else f"step {number}"


def action_name(task: TaskInfo, key: StepKey, action: int) -> str:
    """`make #0` from the content or the UpdateTask's action name, or `action 0`."""
    name = task.names.actions.get((*key, action), "")
    if not name:
        step = task.steps.get(key)
        info = step.actions.get(action) if step is not None else None
        name = info.name if info is not None else ""
    return f"{name} #{action}" if name else f"action {action}"


def task_name(task: TaskInfo) -> str:
    """`task 6f1c0000` (the tx_uuid's first 8 characters)."""
    return f"task {task.tx[:8]}"


def task_badge(task: TaskInfo) -> str:
    """The task's badge; `cancelled` as soon as a cancel is asked of a running task."""
    return Badge.CANCELLED if task.cancel_requested and task.badge == Badge.RUNNING else task.badge


def node_badge(model: LogModel, node: NodeKey) -> str | None:
    """The badge of a task, stage, step or action node (`failed`, `success`, …); None when unknown.

    An action still `pending` whose rows have arrived is `running` (rows come before the state).
    """
    task = model.tasks.get(str(node[1])) if node[0] != "runner" else None
    if task is None:
        return None
    if node[0] == "task":
        return task_badge(task)
    if node[0] == "stage":
        return stage_badge(task, int(node[2]))
    step = task.steps.get((int(node[2]), int(node[3]), int(node[4])))
    if node[0] == "step":
        return badge_of(step.state) if step is not None and step.state else None
    info = step.actions.get(int(node[5])) if step is not None else None
    badge = badge_of(info.state) if info is not None and info.state else None
    tx, stage, row, index, action = str(node[1]), *(int(p) for p in node[2:6])
    stream = model.streams.get(StreamKey(tx, stage, row, index, action))
    if badge == Badge.PENDING and stream is not None and stream.end > 0:
        return Badge.RUNNING
    return badge


def node_title(model: LogModel, node: NodeKey | None) -> str:
    """The log pane's title: the runner, the path of `node` and its state, so a view is never
    taken for another runner's task with the same step names:
    `linux-1 › task 6f1c0000 › build #0 › compile #0 ✘ failed`.
    """
    if node is None:
        return ""
    if node[0] == "runner":
        runner = model.runners.get(str(node[1]))
        return runner.label if runner is not None else "(unknown runner)"
    task = model.tasks.get(str(node[1]))
    if task is None:
        return ""
    runner = model.runners.get(task.runner)
    parts = [runner.label] if runner is not None else []
    parts.append(task_name(task))
    if len(node) >= 3:
        parts.append(stage_name(task, int(node[2])))
    if len(node) >= 5:
        step: StepKey = (int(node[2]), int(node[3]), int(node[4]))
        parts.append(step_name(task, step))
        if len(node) >= 6:
            parts.append(action_name(task, step, int(node[5])))
    badge = node_badge(model, node)
    if badge is not None:
        parts[-1] += f" {BADGE_GLYPHS.get(badge, '?')} {badge}"
    return " › ".join(parts)


def fit_title(title: str, width: int) -> str:
    """`title` in `width` columns: whole, else without its first parts (`… › compile #1 › make #0`),
    so the selected node's own name is what stays; a last part longer than `width` is cut at its end.
    """
    if len(title) <= width or width <= 0:
        return title
    parts = title.split(" › ")
    while len(parts) > 1:
        parts.pop(0)
        fitted = "… › " + " › ".join(parts)
        if len(fitted) <= width:
            return fitted
    return parts[0][: max(width - 1, 0)] + "…"


def clock(seconds: int) -> str:
    """Unix seconds as `HH:MM:SS` UTC (empty for 0; the number itself when out of the
    platform's range: the value comes from a runner)."""
    if not seconds:
        return ""
    try:
        return time.strftime("%H:%M:%S", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):
        return str(seconds)


def duration_text(seconds: int | None) -> str:
    """`4s`, `2m05s`, `1h02m` (empty for None)."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def entry_text(what: str, entry: StateEntry) -> str:
    """`compile #0 failure at 12:00:04 after 4s: make exited with status 2`."""
    text = f"{what} {entry.state}"
    if entry.time:
        text += f" at {clock(entry.time)}"
    if entry.duration is not None:
        text += f" after {duration_text(entry.duration)}"
    if entry.message:
        text += f": {entry.message}"
    return text
