"""What one runner call carried, in a few words, for the calls table's `carried` column.

`make #0 #5–#6 @linux-1`, `make #0 #7 no_more @linux-1` (UpdateLog: the action, the row
indices and the runner), `compile #1 failure @linux-1` (UpdateTask: the step, its state and
the runner), `task 6f1c0000` (FetchTask), `linux-1` (Register, Declare). The runner (the
task's short id when the runner is not known) comes last, so that two runners on the same
action read apart, and a narrow column cuts it before the rows. Reads the request as
proto3 JSON (camelCase names, with the proto names accepted too). Plain Python, no Textual.
"""

from __future__ import annotations

from typing import Any

from rpcctl import jsonsafe
from rpcctl.runner.callstats import CallRecord
from rpcctl.runner.logmodel import LogModel
from rpcctl.tui.naming import action_name, step_name


def _field(message: dict[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    return message.get(camel, message.get(snake, default))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _rows(index: int, count: int) -> str:
    if count <= 0:
        return "no rows"
    return f"#{index}" if count == 1 else f"#{index}–#{index + count - 1}"


def _keys(request: dict[str, Any]) -> tuple[int, int, int]:
    return (
        _int(_field(request, "stageIdx", "stage_idx", 0)),
        _int(_field(request, "stepRowIdx", "step_row_idx", 0)),
        _int(_field(request, "stepIdx", "step_idx", 0)),
    )


def _who(model: LogModel, request: dict[str, Any]) -> str:
    """` @linux-1`: the runner of the request's task, else the task's first 8 characters."""
    tx = str(_field(request, "txUuid", "tx_uuid", "") or "")
    task = model.tasks.get(tx)
    runner = model.runners.get(task.runner) if task is not None else None
    if runner is not None and runner.name:
        return f" @{runner.name}"
    return f" @{tx[:8]}" if tx else ""


def _update_log(model: LogModel, request: dict[str, Any]) -> str:
    task = model.tasks.get(str(_field(request, "txUuid", "tx_uuid", "")))
    step = _keys(request)
    action = _int(_field(request, "actionIdx", "action_idx", 0))
    rows = _field(request, "rows", "rows", [])
    text = _rows(_int(request.get("index")), len(rows) if isinstance(rows, list) else 0)
    if _field(request, "noMore", "no_more", False):
        text += " no_more"
    where = f"{action_name(task, step, action)} " if task is not None else ""
    return f"{where}{text}{_who(model, request)}"


def _update_task(model: LogModel, request: dict[str, Any]) -> str:
    task = model.tasks.get(str(_field(request, "txUuid", "tx_uuid", "")))
    state = request.get("state")
    name = state.get("state", "") if isinstance(state, dict) else ""
    where = step_name(task, _keys(request)) if task is not None else "step"
    return f"{where} {name}".strip() + _who(model, request)


def _fetch_task(record: CallRecord) -> str:
    response = record.responses[0] if record.responses else None
    if not isinstance(response, dict):
        return ""
    content = response.get("content")
    try:
        document = jsonsafe.loads(content) if isinstance(content, str) and content else None
    except ValueError:  # a peer's text: too deep, too long a number, or no JSON at all
        document = None
    tx = document.get("tx_uuid") if isinstance(document, dict) else None
    return f"task {str(tx)[:8]}" if tx else "no task"


def call_summary(model: LogModel, record: CallRecord) -> str:
    """What `record` carried (see the module docstring), or '' for another method."""
    request = record.requests[0] if record.requests else None
    if not isinstance(request, dict):
        request = {}
    method = record.method
    if method == "UpdateLog":
        return _update_log(model, request)
    if method == "UpdateTask":
        return _update_task(model, request)
    if method == "FetchTask":
        return _fetch_task(record)
    if method in ("Register", "Declare"):
        name = request.get("name")
        if not name and record.responses and isinstance(record.responses[0], dict):
            runner = record.responses[0].get("runner")
            name = runner.get("name") if isinstance(runner, dict) else ""
        return str(name or "")
    return ""
