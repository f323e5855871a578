"""The log header: what went wrong under the selected node, above its lines.

Two facts, each on its own line when there is something to say: the failure (the
first failed step under the node, with the message its UpdateTask carried, time and
duration), and the state of the node's streams (rows, acks, gaps, resent, refused and
after-`no_more` rows). An action describes itself first (`make #1 skipped`), its step's
failure after it, labelled (`step failed: compile #0 failure …`): a skipped action is not
what failed. Plain Python (rich Text), no Textual.
"""

from __future__ import annotations

from rich.text import Text

from rpcctl.runner.logmodel import LogModel
from rpcctl.runner.logstream import LogStream, Mark
from rpcctl.runner.logtree import Badge, StepKey, TaskInfo, badge_of
from rpcctl.tui.lines import node_streams
from rpcctl.tui.naming import NodeKey, action_name, entry_text, step_name


def failure_text(task: TaskInfo, prefix: tuple[int, ...] = ()) -> str:
    """`✘ compile #0 failure at 12:00:04 after 4s: make exited with status 2`, or ''."""
    for key in sorted(task.steps):
        step = task.steps[key]
        if key[: len(prefix)] != prefix or not step.failed:
            continue
        last = next((e for e in reversed(step.history) if e.state == step.state), None)
        if last is None:
            return f"✘ {step_name(task, key)} {step.state}" + (f": {step.message}" if step.message else "")
        text = entry_text(step_name(task, key), last)
        if step.message and not last.message:
            text += f": {step.message}"
        return f"✘ {text}"
    return ""


def _count(streams: list[LogStream], flag: Mark) -> int:
    return sum(1 for s in streams for mark in s.marks.values() if flag in mark)


def streams_text(streams: list[LogStream]) -> str:
    """`10 rows · acked 8 · 1 ack ≠ · 1 gap (2 missing) · 2 resent · 3 refused · 1 late · closed`.

    `ack ≠`: answers whose ack_index was not the request's end; `late`: rows after no_more.
    """
    if not streams:
        return ""
    parts = [f"{sum(s.received for s in streams)} rows"]
    if len(streams) == 1:
        stream = streams[0]
        parts.append(f"acked {stream.acked}" if stream.last_ack is not None else "no ack yet")
    mismatches = sum(s.ack_mismatches for s in streams)
    if mismatches:
        parts.append(f"{mismatches} ack ≠")
    gaps = sum(s.gap_count for s in streams)
    if gaps:
        parts.append(f"{gaps} gap{'s' if gaps != 1 else ''} ({sum(s.missing for s in streams)} missing)")
    resent = _count(streams, Mark.RESENT)
    if resent:
        parts.append(f"{resent} resent")
    refused = _count(streams, Mark.REFUSED)
    if refused:
        parts.append(f"{refused} refused")
    late = sum(s.rows_after_no_more for s in streams)
    if late:
        parts.append(f"{late} late")
    closed = sum(1 for s in streams if s.closed)
    if len(streams) == 1:
        parts.append("closed" if closed else "open")
    else:
        parts.append(f"{closed}/{len(streams)} closed")
    return " · ".join(parts)


def action_text(task: TaskInfo, step: StepKey, action: int) -> tuple[str, bool]:
    """`make #1 skipped at 12:00:05`, and whether that state is a failure ('' when unknown)."""
    info = task.steps[step].actions.get(action) if step in task.steps else None
    if info is None or not info.state:
        return "", False
    name = action_name(task, step, action)
    last = next((e for e in reversed(info.history) if e.state == info.state), None)
    text = entry_text(name, last) if last is not None else f"{name} {info.state}"
    failed = badge_of(info.state) == Badge.FAILED
    return (f"✘ {text}" if failed else text), failed


def header_text(model: LogModel, node: NodeKey | None) -> Text:
    """The header lines for `node` (empty Text when nothing is known)."""
    text = Text()
    if node is None:
        return text
    lines: list[tuple[str, str]] = []
    if node[0] != "runner":
        task = model.tasks.get(str(node[1]))
        if task is not None:
            prefix = tuple(int(p) for p in node[2:5])
            failure = failure_text(task, prefix)
            if node[0] == "action":
                step: StepKey = (int(node[2]), int(node[3]), int(node[4]))
                own, failed = action_text(task, step, int(node[5]))
                if own:
                    lines.append((own, "bold red" if failed else "bold"))
                if failure:
                    lines.append((f"step failed: {failure.removeprefix('✘ ')}", "red"))
            elif failure:
                lines.append((failure, "bold red"))
    state = streams_text([model.streams[k] for k in node_streams(model, node)])
    if state:
        bad = any(w in state for w in ("≠", "gap", "refused", "late"))
        lines.append((state, "yellow" if bad else "dim"))
    for number, (line, style) in enumerate(lines):
        if number:
            text.append("\n")
        text.append(line, style)
    return text
