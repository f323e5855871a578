"""What the log model tells its views: state changes, the listener that hears them as they
happen, and the change set that polling views take (`LogModel.take_changes`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rpcctl.runner.logstream import LogStream
from rpcctl.runner.logtree import RunnerInfo, StepKey
from rpcctl.runner.streamkey import StreamKey


@dataclass(frozen=True, slots=True)
class StateChange:
    """A task, step or action changed state (step None: the task; action None: the step)."""

    tx: str
    step: StepKey | None
    action: int | None
    state: str
    message: str = ""


class LogListener(Protocol):
    """Hears every change as the model makes it (the headless printer is one)."""

    def rows_added(self, stream: LogStream, index: int, rows: Sequence[str]) -> None:
        """New rows `index`… arrived on `stream` (duplicates are not repeated here)."""

    def state_changed(self, change: StateChange) -> None:
        """A task, step or action has a new state."""

    def runner_seen(self, runner: RunnerInfo, how: str) -> None:
        """A runner registered or declared itself (`how` is the method name)."""


@dataclass(slots=True)
class Changes:
    """What changed since the last `take_changes()`."""

    streams: set[StreamKey] = field(default_factory=set)
    tasks: set[str] = field(default_factory=set)
    runners: bool = False
    calls: bool = False

    def __bool__(self) -> bool:
        return bool(self.streams or self.tasks or self.runners or self.calls)
