"""The c, r and s keys of the tail-logs app: cancel, replay and save a task or the capture
through the `TuiActions` the CLI supplied, each with one line of feedback.

`TaskKeysApp` is the base class of `TailLogsApp`, which supplies the model, the selection
and the redraw (`_tick`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App

from rpcctl.runner.logmodel import LogModel
from rpcctl.tui.actions import StatusInfo, TuiActions
from rpcctl.tui.lines import NodeKey, task_of

NOT_AVAILABLE = "not available in this mode"


class TaskKeysApp(App[None]):
    """The c, r and s actions; the subclass sets the attributes below."""

    model: LogModel
    status: StatusInfo
    actions: TuiActions
    selected: NodeKey | None
    _clock: Callable[[], str]

    def _tick(self) -> None:
        """Redraw what changed (the subclass's)."""

    async def action_cancel_task(self) -> None:
        """Cancel the selected task (refused once the task failed, succeeded or was cancelled)."""
        tx = task_of(self.selected)
        if tx is None:
            self.notify("select a task first", severity="warning")
            return
        task = self.model.tasks.get(tx)
        if task is not None and task.final:
            self.notify(f"task {tx[:8]} already {task.badge}: nothing to cancel", severity="warning")
            return
        if await self._call("cancel_task", tx) is not False:
            self.model.mark_cancel_requested(tx)
            self._tick()
            self.notify(f"cancel requested for task {tx}")

    async def action_replay_task(self) -> None:
        """Replay the selected task against the replay target."""
        tx = task_of(self.selected)
        if tx is None:
            self.notify("select a task first", severity="warning")
            return
        if self.actions.replay_task is None:
            await self._call("replay_task", tx)
            return
        self.notify(f"replaying task {tx[:8]}…")
        self.run_worker(self._replay(tx), name="replay", group="replay")

    async def _replay(self, tx: str) -> None:
        outcome = await self._call("replay_task", tx)
        if outcome is not False:
            text = outcome if isinstance(outcome, str) and outcome else f"replayed task {tx[:8]}"
            self.notify(text, timeout=10)

    async def action_save_capture(self) -> None:
        """Save the capture recorded so far."""
        # The whole path: a relative one names the directory tail-logs started in, which the
        # person reading the message may not know.
        path = str(Path(self.status.save_path.replace("{time}", self._clock())).resolve())
        if await self._call("save_capture", path) is not False:
            self.notify(f"capture saved to {path}")

    async def _call(self, name: str, argument: str) -> Any:
        """The action's result (None when it returns nothing); False when missing or failed."""
        function = getattr(self.actions, name, None)
        if function is None:
            self.notify(f"{name.replace('_', ' ')}: {NOT_AVAILABLE}", severity="warning")
            return False
        try:
            result: Any = function(argument)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # an action's failure is shown, never fatal to the TUI
            self.notify(f"{name.replace('_', ' ')} failed: {exc}", severity="error", timeout=10)
            return False
        return result
