"""Names of a task's stages, steps and actions, read from the FetchTask `content`.

The content is the task document a runner works from; the stand-in's (see `tasks`) and
many CI servers' are JSON objects with `stages` → `steps` → `actions`, each with a `name`.
Steps are rows of their stage (`step_row_idx`, with `step_idx` 0); a step that is itself
a list of parallel steps (a JSON list in `steps`) names `step_idx` inside the row. Content
that is not such a document names nothing, and views fall back to the indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rpcctl import jsonsafe
from rpcctl.runner.streamkey import StreamKey

StepKey = tuple[int, int, int]


@dataclass(slots=True)
class TaskNames:
    """Stage, step and action names by index (absent: unnamed)."""

    stages: dict[int, str] = field(default_factory=dict)
    steps: dict[StepKey, str] = field(default_factory=dict)
    actions: dict[tuple[int, int, int, int], str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.stages or self.steps or self.actions)

    def action(self, key: StreamKey) -> str:
        """The name of the action a stream belongs to, or ''."""
        return self.actions.get((key[1], key[2], key[3], key[4]), "")


def _name(item: Any) -> str:
    if isinstance(item, dict):
        value = item.get("name")
        return value if isinstance(value, str) else ""
    return ""


def names_from_content(content: str) -> TaskNames:
    """The names a FetchTask `content` gives (empty when it is not a task document)."""
    names = TaskNames()
    try:
        document = jsonsafe.loads(content) if content.lstrip().startswith("{") else None
    except ValueError:
        return names
    stages = document.get("stages") if isinstance(document, dict) else None
    if not isinstance(stages, list):
        return names
    for s, stage in enumerate(stages):
        if not isinstance(stage, dict):
            continue
        if _name(stage):
            names.stages[s] = _name(stage)
        steps = stage.get("steps")
        for r, row in enumerate(steps if isinstance(steps, list) else ()):
            for i, step in enumerate(row if isinstance(row, list) else [row]):
                if not isinstance(step, dict):
                    continue
                if _name(step):
                    names.steps[(s, r, i)] = _name(step)
                actions = step.get("actions")
                for a, action in enumerate(actions if isinstance(actions, list) else ()):
                    if _name(action):
                        names.actions[(s, r, i, a)] = _name(action)
    return names
