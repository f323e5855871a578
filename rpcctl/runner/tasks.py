"""Task documents: what the stand-in server hands out with `FetchTask`.

A tasks file (`rpcctl serve --tasks FILE`) is a JSON list of tasks (YAML too when
PyYAML is installed and the file name ends in .yaml or .yml)::

    [
      {
        "tx_uuid": "6f1c…",          optional; a random UUID when absent
        "labels": ["linux", "x64"],   optional; a runner must have every one of them
        "content": "…",               optional; FetchTask's `content`, sent verbatim
        "stages": [                   required, may be empty
          {
            "name": "build",
            "steps": [
              {
                "name": "compile",
                "fail": false,        optional simulator hint: this step fails
                "actions": [{"name": "make", "rows": 200}]
              }
            ]
          }
        ]
      }
    ]

`rows` (optional, ≥ 0) tells the simulator how many log rows an action produces; the
stand-in itself ignores `fail` and `rows`. Without `content`, FetchTask answers with the
task document itself as compact JSON (which is also valid YAML), so any runner, and the
simulator, learns the `tx_uuid` and the stages from it. Log streams are keyed by
(tx_uuid, stage_idx, step_row_idx, step_idx, action_idx): indices in the lists above,
each step a row of its own, so `step_idx` is always 0.

Unknown keys are rejected, so a typo does not pass silently.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rpcctl import jsonsafe
from rpcctl.errors import UsageError


@dataclass(frozen=True)
class Action:
    """One action of a step; `rows` is how many log rows the simulator writes (None: its default)."""

    name: str
    rows: int | None = None


@dataclass(frozen=True)
class Step:
    """One step of a stage; `fail` asks the simulator to report it failed."""

    name: str
    actions: tuple[Action, ...] = ()
    fail: bool = False


@dataclass(frozen=True)
class Stage:
    """One stage of a task."""

    name: str
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Task:
    """A task document."""

    tx_uuid: str
    stages: tuple[Stage, ...] = ()
    labels: tuple[str, ...] = ()
    content: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The document as JSON-ready data (without `content`)."""
        return {
            "tx_uuid": self.tx_uuid,
            "labels": list(self.labels),
            "stages": [
                {
                    "name": stage.name,
                    "steps": [_step_dict(step) for step in stage.steps],
                }
                for stage in self.stages
            ],
        }

    def fetch_content(self) -> str:
        """What FetchTask answers as `content`: the given text, else the document as JSON."""
        if self.content is not None:
            return self.content
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    def step_keys(self) -> list[tuple[int, int, int]]:
        """(stage_idx, step_row_idx, step_idx) of every step, in order."""
        return [(s, r, 0) for s, stage in enumerate(self.stages) for r in range(len(stage.steps))]


def _step_dict(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"name": step.name, "actions": []}
    for action in step.actions:
        item: dict[str, Any] = {"name": action.name}
        if action.rows is not None:
            item["rows"] = action.rows
        out["actions"].append(item)
    if step.fail:
        out["fail"] = True
    return out


def load_tasks(path: Path) -> list[Task]:
    """Read a tasks file; `UsageError` naming the file and the problem when it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read tasks file {path}: {reason}") from exc
    yaml = path.suffix.lower() in (".yaml", ".yml")
    data = _parse_text(text, yaml=yaml, origin=f"tasks file {path}")
    return parse_tasks(data, origin=f"tasks file {path}")


def parse_tasks(data: Any, origin: str = "tasks") -> list[Task]:
    """Validate decoded JSON/YAML data as a list of task documents."""
    if not isinstance(data, list):
        raise UsageError(f"{origin}: expected a list of tasks, got {_kind(data)}")
    tasks = [_task(item, f"{origin}: task {i}") for i, item in enumerate(data)]
    seen: set[str] = set()
    for i, task in enumerate(tasks):
        if task.tx_uuid in seen:
            raise UsageError(f"{origin}: task {i}: duplicate tx_uuid {task.tx_uuid!r}")
        seen.add(task.tx_uuid)
    return tasks


def parse_content(text: str) -> Task:
    """The task document in a FetchTask `content` (JSON, or YAML with PyYAML); `UsageError` if not one."""
    stripped = text.lstrip()
    data = _parse_text(text, yaml=not stripped.startswith(("{", "[")), origin="task content")
    if not isinstance(data, dict) or not isinstance(data.get("tx_uuid"), str) or not data["tx_uuid"]:
        raise UsageError("task content: not a task document with a tx_uuid")
    data = {k: v for k, v in data.items() if k in ("tx_uuid", "labels", "stages")}
    return _task(data, "task content")


def _parse_text(text: str, *, yaml: bool, origin: str) -> Any:
    if yaml:
        try:
            import yaml as pyyaml
        except ImportError:
            raise UsageError(f"{origin}: YAML needs PyYAML (pip install pyyaml); use JSON") from None
        try:
            return pyyaml.safe_load(text)
        except pyyaml.YAMLError as exc:
            raise UsageError(f"{origin}: invalid YAML: {exc}".replace("\n", " ")) from exc
    try:
        return jsonsafe.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise UsageError(f"{origin}: invalid JSON at {where}: {exc.msg}") from exc


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _object(value: Any, where: str, allowed: Sequence[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected an object, got {_kind(value)}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(allowed)})")
    return value


def _string(obj: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str) or (not value and key in ("name", "tx_uuid")):
        shown = "missing" if key not in obj else f"{_kind(value)}"
        raise UsageError(f"{where}: {key!r} must be a non-empty string ({shown})")
    return value


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise UsageError(f"{where}: {key!r} must be a list, got {_kind(value)}")
    return value


def _task(value: Any, where: str) -> Task:
    obj = _object(value, where, ("tx_uuid", "labels", "content", "stages"))
    tx_uuid = _string(obj, "tx_uuid", where, str(uuid.uuid4()))
    labels = _list(obj, "labels", where)
    for label in labels:
        if not isinstance(label, str) or not label:
            raise UsageError(f"{where}: 'labels' must hold non-empty strings, got {_kind(label)}")
    content = obj.get("content")
    if content is not None and not isinstance(content, str):
        raise UsageError(f"{where}: 'content' must be a string, got {_kind(content)}")
    if "stages" not in obj:
        raise UsageError(f"{where}: 'stages' is missing")
    stages = tuple(_stage(s, f"{where}: stages[{i}]") for i, s in enumerate(_list(obj, "stages", where)))
    return Task(tx_uuid=tx_uuid, stages=stages, labels=tuple(labels), content=content)


def _stage(value: Any, where: str) -> Stage:
    obj = _object(value, where, ("name", "steps"))
    steps = tuple(_step(s, f"{where}.steps[{i}]") for i, s in enumerate(_list(obj, "steps", where)))
    return Stage(name=_string(obj, "name", where), steps=steps)


def _step(value: Any, where: str) -> Step:
    obj = _object(value, where, ("name", "actions", "fail"))
    fail = obj.get("fail", False)
    if not isinstance(fail, bool):
        raise UsageError(f"{where}: 'fail' must be true or false, got {_kind(fail)}")
    actions = tuple(_action(a, f"{where}.actions[{i}]") for i, a in enumerate(_list(obj, "actions", where)))
    return Step(name=_string(obj, "name", where), actions=actions, fail=fail)


def _action(value: Any, where: str) -> Action:
    obj = _object(value, where, ("name", "rows"))
    rows = obj.get("rows")
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 0):
        raise UsageError(f"{where}: 'rows' must be a whole number ≥ 0, got {rows!r}")
    return Action(name=_string(obj, "name", where), rows=rows)


def synthetic_task(
    *,
    stages: int = 2,
    steps: int = 2,
    actions: int = 1,
    rows: int = 20,
    labels: Sequence[str] = (),
    fail_step: tuple[int, int] | None = None,
    tx_uuid: str | None = None,
) -> Task:
    """A generated task: `stages` × `steps` × `actions`, each action writing `rows` rows.

    `fail_step` = (stage_idx, step_row_idx) marks that step as failing.
    """
    return Task(
        tx_uuid=tx_uuid or str(uuid.uuid4()),
        labels=tuple(labels),
        stages=tuple(
            Stage(
                name=f"stage-{s}",
                steps=tuple(
                    Step(
                        name=f"step-{s}.{r}",
                        actions=tuple(Action(f"action-{s}.{r}.{a}", rows) for a in range(actions)),
                        fail=fail_step == (s, r),
                    )
                    for r in range(steps)
                ),
            )
            for s in range(stages)
        ),
    )
