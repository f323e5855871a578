"""Applying an `UpdateTask` request to a task: step and action states, times, messages, history.

A runner reports one step per `UpdateTask` (`StepState`: state, start and end time,
message, and an `ActionState` per action). Every change of state is kept in the step's
or action's `history` with the message and times of the report that made it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rpcctl.runner.logtree import ActionInfo, StateEntry, StepKey, TaskInfo, badge_of

Notify = Callable[[StepKey, "int | None", str, str], None]
"""Told (step, action or None, new state, message) on every change of state."""

_FINAL = ("success", "failed", "cancelled", "skipped")


def get(message: dict[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    """A field of a proto3 JSON message, by its JSON name or its proto name."""
    value = message.get(camel)
    if value is None:
        value = message.get(snake, default)
    return value


def as_int(value: Any) -> int:
    """An integer field (proto3 JSON writes 64-bit ones as strings); 0 when absent or bad."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def entry(seq: int, state: str, message: str, start: int, end: int) -> StateEntry:
    """The history entry of a change to `state` with the report's times."""
    final = badge_of(state) in _FINAL
    duration = end - start if start and end and end >= start else None
    return StateEntry(seq, state, message, (end or start) if final else start, duration)


def apply_update(task: TaskInfo, message: dict[str, Any], seq: int, notify: Notify) -> StepKey:
    """Apply an UpdateTask request `message` to `task`; the key of the step it reports."""
    key: StepKey = (
        as_int(get(message, "stageIdx", "stage_idx")),
        as_int(get(message, "stepRowIdx", "step_row_idx")),
        as_int(get(message, "stepIdx", "step_idx")),
    )
    step = task.step(key)
    state = message.get("state")
    if not isinstance(state, dict):
        return key
    step.start_time = as_int(get(state, "startTime", "start_time")) or step.start_time
    step.end_time = as_int(get(state, "endTime", "end_time")) or step.end_time
    step.message = str(state.get("message") or step.message)
    new_state = str(state.get("state") or "")
    if new_state and new_state != step.state:
        step.state = new_state
        step.history.append(entry(seq, new_state, step.message, step.start_time, step.end_time))
        notify(key, None, new_state, step.message)
    for item in state.get("actions") or ():
        if isinstance(item, dict):
            _action_state(step.actions, key, item, seq, notify)
    return key


def _action_state(
    actions: dict[int, ActionInfo], key: StepKey, item: dict[str, Any], seq: int, notify: Notify
) -> None:
    index = as_int(item.get("index"))
    action = actions.get(index)
    if action is None:
        action = actions[index] = ActionInfo(index)
    action.name = str(item.get("name") or action.name)
    action.start_time = as_int(get(item, "startTime", "start_time")) or action.start_time
    action.end_time = as_int(get(item, "endTime", "end_time")) or action.end_time
    new_state = str(item.get("state") or "")
    if new_state and new_state != action.state:
        action.state = new_state
        action.history.append(entry(seq, new_state, "", action.start_time, action.end_time))
        notify(key, index, new_state, "")
