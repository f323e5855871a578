"""The headless tail-logs printer: one line per row and per state change, a summary at the end.

Line formats (deterministic: the same events always print the same lines)::

    {tx} {stage}/{step}/{action} #{index} | {text}      a new row (duplicates are not repeated)
    {tx} {stage}/{step} state {state}[ | {message}]      a step changed state
    {tx} {stage}/{step}/{action} state {state}           an action changed state
    {tx} task cancelled                                  the server cancelled the task
    runner {uuid} {register|declare} {name}[ labels=a,b]  a runner identified itself

`{step}` is the step index, written `{step_row}.{step}` when the step row is not 0, so
`0/2/1` is stage 0, step 2, action 1 and `0/1.2/1` is the same in step row 1. `{tx}` is
the full tx_uuid. The summary ends the output::

    summary: 1 runner, 1 task, 2 streams, 40 rows, 1 gap (3 missing), 0 duplicates, …
    {tx} task {badge} runner {name}
    {tx} {stage}/{step}/{action}: 20 rows, closed, gaps #2–#4, …
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rpcctl.runner.logmodel import LogModel, StateChange
from rpcctl.runner.logstream import LogStream
from rpcctl.runner.logtree import UNKNOWN_RUNNER, RunnerInfo, StepKey
from rpcctl.runner.streamkey import StreamKey

MAX_GAPS_LISTED = 10
"""Gap ranges listed per stream in the summary; the rest are counted."""


def step_path(step: StepKey) -> str:
    """`stage/step`, or `stage/row.step` when the step row is not 0."""
    stage, row, index = step
    return f"{stage}/{row}.{index}" if row else f"{stage}/{index}"


def stream_path(key: StreamKey) -> str:
    """`stage/step/action` of a stream key (the step as in `step_path`)."""
    _, stage, row, step, action = key
    return f"{step_path((stage, row, step))}/{action}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class HeadlessPrinter:
    """Prints the log model's changes as lines through `write` (one call per line, no newline)."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self._prefixes: dict[StreamKey, str] = {}

    # -- LogListener ------------------------------------------------------------------

    def rows_added(self, stream: LogStream, index: int, rows: Sequence[str]) -> None:
        """One line per new row."""
        prefix = self._prefixes.get(stream.key)
        if prefix is None:
            prefix = self._prefixes[stream.key] = f"{stream.key[0]} {stream_path(stream.key)} #"
        write = self.write
        for offset, text in enumerate(rows):
            write(f"{prefix}{index + offset} | {text}")

    def state_changed(self, change: StateChange) -> None:
        """One line per state change."""
        if change.step is None:
            self.write(f"{change.tx} task {change.state}")
            return
        path = step_path(change.step)
        if change.action is not None:
            self.write(f"{change.tx} {path}/{change.action} state {change.state}")
        elif change.message:
            self.write(f"{change.tx} {path} state {change.state} | {change.message}")
        else:
            self.write(f"{change.tx} {path} state {change.state}")

    def runner_seen(self, runner: RunnerInfo, how: str) -> None:
        """One line per Register/Declare answer."""
        labels = f" labels={','.join(runner.labels)}" if runner.labels else ""
        self.write(f"runner {runner.uuid} {how.lower()} {runner.name}{labels}")

    # -- summary ----------------------------------------------------------------------

    def print_summary(self, model: LogModel) -> None:
        """Write the summary lines of `model`."""
        for line in summary_lines(model):
            self.write(line)


def summary_lines(model: LogModel) -> list[str]:
    """The end-of-run summary: totals, one line per task, one line per stream."""
    streams = [model.streams[key] for key in sorted(model.streams)]
    gaps = sum(s.gap_count for s in streams)
    missing = sum(s.missing for s in streams)
    runners = sum(1 for uuid in model.runners if uuid != UNKNOWN_RUNNER)
    stats = model.stats
    lines = [
        "summary: "
        + ", ".join(
            (
                _plural(runners, "runner"),
                _plural(len(model.tasks), "task"),
                _plural(len(streams), "stream"),
                _plural(sum(s.received for s in streams), "row"),
                f"{_plural(gaps, 'gap')} ({missing} missing)",
                _plural(sum(s.duplicates for s in streams), "duplicate"),
                f"{sum(s.rows_after_no_more for s in streams)} after no_more",
                _plural(model.ack_mismatches, "ack mismatch").replace("mismatchs", "mismatches"),
                _plural(stats.errors, "error"),
                _plural(stats.calls, "call"),
            )
        )
    ]
    for tx in sorted(model.tasks):
        task = model.tasks[tx]
        runner = model.runners.get(task.runner)
        name = runner.label if runner is not None else "(unknown runner)"
        lines.append(f"{tx} task {task.badge} runner {name}")
    lines.extend(_stream_line(stream) for stream in streams)
    return lines


def _stream_line(stream: LogStream) -> str:
    parts = [_plural(stream.received, "row")]
    if stream.closed:
        parts.append("closed")
    gaps = stream.gaps()
    if gaps:
        listed = " ".join(str(gap) for gap in gaps[:MAX_GAPS_LISTED])
        more = f" +{len(gaps) - MAX_GAPS_LISTED} more" if len(gaps) > MAX_GAPS_LISTED else ""
        parts.append(f"gaps {listed}{more} ({stream.missing} missing)")
    if stream.duplicates:
        parts.append(f"{_plural(stream.duplicates, 'duplicate')} ({stream.duplicates_different} different)")
    if stream.rows_after_no_more:
        parts.append(f"{stream.rows_after_no_more} after no_more")
    if stream.ack_mismatches:
        parts.append(_plural(stream.ack_mismatches, "ack mismatch").replace("mismatchs", "mismatches"))
    return f"{stream.key[0]} {stream_path(stream.key)}: {', '.join(parts)}"
