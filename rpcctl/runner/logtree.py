"""The runners → tasks → steps → actions that the log model builds from RunnerService calls.

Mutable records with slots, updated in place by the log model and read by the views.
Stages have no record of their own: a stage is the set of steps sharing a `stage_idx`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from rpcctl.runner.states import State
from rpcctl.runner.streamkey import StreamKey
from rpcctl.runner.tasknames import TaskNames

StepKey = tuple[int, int, int]
"""(stage_idx, step_row_idx, step_idx) inside a task."""

UNKNOWN_RUNNER = ""
"""The key of the runner that calls are attributed to when no rule names one."""


class Badge:
    """The badges a tree node shows; a closed set of strings."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


_BADGE_OF_STATE = {
    State.PENDING.value: Badge.PENDING,
    State.RUNNING.value: Badge.RUNNING,
    State.SUCCESS.value: Badge.SUCCESS,
    State.FAILURE.value: Badge.FAILED,
    "failed": Badge.FAILED,
    State.CANCELLED.value: Badge.CANCELLED,
    "canceled": Badge.CANCELLED,
    State.SKIPPED.value: Badge.SKIPPED,
}


def badge_of(state: str) -> str:
    """The badge for a wire state string (unknown or empty states count as running)."""
    return _BADGE_OF_STATE.get(state.lower(), Badge.RUNNING)


@dataclass(slots=True)
class RunnerInfo:
    """A runner, as Register/Declare answered it (or the unknown runner)."""

    uuid: str
    name: str = ""
    id: int = 0
    token: str = ""
    version: str = ""
    labels: tuple[str, ...] = ()
    peer: str = ""
    tasks: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How views name the runner."""
        if self.uuid == UNKNOWN_RUNNER:
            return "(unknown runner)"
        return self.name or self.uuid


@dataclass(frozen=True, slots=True)
class StateEntry:
    """One state change of a step or action, as the UpdateTask that reported it said.

    `seq` orders it among the rows (the model's arrival number); `time` is the wire's
    `end_time` for a final state, else its `start_time` (Unix seconds, 0: not given);
    `duration` is `end_time - start_time` in seconds once both are known, else None.
    """

    seq: int
    state: str
    message: str = ""
    time: int = 0
    duration: int | None = None


@dataclass(slots=True)
class ActionInfo:
    """One action's state, from the `ActionState` list of an UpdateTask."""

    index: int
    name: str = ""
    state: str = ""
    start_time: int = 0
    end_time: int = 0
    history: list[StateEntry] = field(default_factory=list)


@dataclass(slots=True)
class StepInfo:
    """One step's state, start and end times, message and actions, from UpdateTask."""

    key: StepKey
    state: str = ""
    start_time: int = 0
    end_time: int = 0
    message: str = ""
    actions: dict[int, ActionInfo] = field(default_factory=dict)
    history: list[StateEntry] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when the step's state is a failure."""
        return badge_of(self.state) == Badge.FAILED if self.state else False


@dataclass(slots=True)
class TaskInfo:
    """One task (a `tx_uuid`): its runner, steps, streams and recent row arrivals."""

    tx: str
    runner: str = UNKNOWN_RUNNER
    pipeline_state: str = ""
    cancel_requested: bool = False
    cancelled: bool = False
    adopted: bool = False
    """The stand-in took the task on from a runner it did not hand it to."""
    names: TaskNames = field(default_factory=TaskNames)
    steps: dict[StepKey, StepInfo] = field(default_factory=dict)
    streams: list[StreamKey] = field(default_factory=list)
    rows: int = 0
    arrivals: deque[tuple[StreamKey, int, int]] = field(default_factory=deque)
    """(stream, first index, count) of new rows in arrival order, bounded by the model."""
    arrival_rows: int = 0
    history: list[StateEntry] = field(default_factory=list)
    """The task's own verdicts: each final `pipeline_state` (success, failure, cancelled) an
    UpdateTask answer gave it, when it changed."""

    @property
    def badge(self) -> str:
        """cancelled, failed, success or running, from the pipeline and step states."""
        if self.cancelled:
            return Badge.CANCELLED
        pipeline = badge_of(self.pipeline_state) if self.pipeline_state else ""
        if pipeline in (Badge.CANCELLED, Badge.FAILED, Badge.SUCCESS):
            return pipeline
        badges = [badge_of(step.state) for step in self.steps.values() if step.state]
        if Badge.FAILED in badges:
            return Badge.FAILED
        if badges and all(b in (Badge.SUCCESS, Badge.SKIPPED) for b in badges):
            return Badge.SUCCESS
        return Badge.RUNNING

    @property
    def final(self) -> bool:
        """True once the task failed, succeeded or was cancelled."""
        return self.badge in (Badge.FAILED, Badge.SUCCESS, Badge.CANCELLED)

    def failure(self) -> StepInfo | None:
        """The first failed step (in key order), if any."""
        return next((self.steps[k] for k in sorted(self.steps) if self.steps[k].failed), None)

    def step(self, key: StepKey) -> StepInfo:
        """The step `key`, created on first use."""
        step = self.steps.get(key)
        if step is None:
            step = self.steps[key] = StepInfo(key)
        return step


def stage_badge(task: TaskInfo, stage: int) -> str:
    """The badge of a stage: the worst of its steps' badges."""
    badges = {badge_of(s.state) for k, s in task.steps.items() if k[0] == stage and s.state}
    for badge in (Badge.CANCELLED, Badge.FAILED, Badge.RUNNING, Badge.PENDING):
        if badge in badges:
            return badge
    return Badge.SUCCESS if badges else Badge.RUNNING
