"""The state strings that steps, actions and pipelines carry in `UpdateTask`.

The runner reports a step's `StepState.state` and each `ActionState.state`; the server
answers `UpdateTaskResponse.pipeline_state` with the state of the whole task, and a
runner stops working on a task as soon as that answer is `cancelled`.
"""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    """A step's, action's or pipeline's state, as sent on the wire."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def final(self) -> bool:
        """True for a state nothing follows (success, failure, cancelled, skipped)."""
        return self in (State.SUCCESS, State.FAILURE, State.CANCELLED, State.SKIPPED)
