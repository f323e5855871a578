"""A capture split into runner sessions: what `rpcctl replay` re-runs, one session per runner.

Calls are attributed to runners by the log model's rules (`rpcctl.runner.attribution`,
applied by `LogModel`), so replay and tail-logs agree on who did what:

- Register and Declare belong to the runner their answer names (its uuid);
- a FetchTask that handed out a task, and every UpdateTask and UpdateLog of a task,
  belong to the runner the model attributes that task to (rules 2 to 4);
- a task no rule attributes lands in the unknown runner's session (uuid '').

Not part of any session, so not replayed: FetchTask polls that handed out nothing (on a
target they could take a task the recorded runner never ran), Ping, calls of other
services, calls that failed in the recording, and messages kept raw (no schema decoded
them). Each session keeps its calls in recorded order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rpcctl.call_events import CallEvent, EventKind
from rpcctl.errors import UsageError
from rpcctl.runner.attribution import tx_from_content
from rpcctl.runner.logmodel import SERVICE_MARK, LogModel
from rpcctl.runner.logtree import UNKNOWN_RUNNER

RUNNER_CALLS = ("Register", "Declare")
TASK_CALLS = ("UpdateTask", "UpdateLog")


def field_of(message: dict[str, Any] | None, camel: str, snake: str, default: Any = None) -> Any:
    """A field of a proto3 JSON message, by its JSON (camelCase) or proto (snake_case) name."""
    if not message:
        return default
    value = message.get(camel)
    return message.get(snake, default) if value is None else value


@dataclass
class RecordedCall:
    """One unary RunnerService call of the capture: request, answer and status."""

    call_id: str
    method: str  # short name: "UpdateLog"
    time: float  # when it started, capture seconds
    headers: list[Any] = field(default_factory=list)
    peer: str = ""
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    code: int | None = None  # None: the capture has no END for it

    @property
    def failed(self) -> bool:
        """True when the recorded call ended with an error status."""
        return self.code not in (None, 0)

    @property
    def tx(self) -> str:
        """The task this call is about: its request's tx_uuid, or the task a FetchTask handed out."""
        if self.method == "FetchTask":
            if not field_of(self.response, "success", "success", False):
                return ""
            return tx_from_content(str(field_of(self.response, "content", "content", "") or ""))
        return str(field_of(self.request, "txUuid", "tx_uuid", "") or "")


@dataclass
class Session:
    """The calls one recorded runner made, in recorded order."""

    runner_uuid: str
    name: str = ""
    version: str = ""
    labels: tuple[str, ...] = ()
    calls: list[RecordedCall] = field(default_factory=list)

    @property
    def tasks(self) -> list[str]:
        """The recorded task ids of the session, in order of first appearance."""
        seen: dict[str, None] = {}
        for call in self.calls:
            if call.tx and (call.method == "FetchTask" or call.method in TASK_CALLS):
                seen.setdefault(call.tx)
        return list(seen)

    @property
    def start(self) -> float:
        """When the session's first call started (capture seconds)."""
        return self.calls[0].time if self.calls else 0.0

    @property
    def rows(self) -> int:
        """Rows in the session's recorded UpdateLog requests."""
        return sum(
            len(field_of(c.request, "rows", "rows", []) or []) for c in self.calls if c.method == "UpdateLog"
        )


@dataclass
class SplitCapture:
    """The sessions of a capture and what was left out of them."""

    sessions: list[Session]
    skipped: int = 0  # RunnerService calls not replayed (see the module docstring)

    @property
    def tasks(self) -> list[str]:
        """Every recorded task id, session by session."""
        return [tx for session in self.sessions for tx in session.tasks]


def split_sessions(events: Iterable[CallEvent]) -> SplitCapture:
    """Group a capture's RunnerService calls into one session per runner."""
    model = LogModel(max_rows_per_stream=1, max_task_arrivals=1, max_recent_calls=1)
    calls: dict[str, RecordedCall] = {}
    for event in events:
        if SERVICE_MARK not in event.method:
            continue
        model.ingest(event)
        call = calls.get(event.call_id)
        if call is None:
            call = calls[event.call_id] = RecordedCall(
                event.call_id, event.method.rpartition("/")[2], event.time
            )
        if event.kind is EventKind.START:
            call.time = event.time
            call.headers = list(event.info.get("headers") or [])
            call.peer = str(event.info.get("peer") or "")
        elif event.kind is EventKind.REQUEST and isinstance(event.message, dict):
            call.request = event.message
        elif event.kind is EventKind.RESPONSE and isinstance(event.message, dict):
            call.response = event.message
        elif event.kind is EventKind.END:
            call.code = int(event.info.get("code") or 0)

    sessions: dict[str, Session] = {}
    skipped = 0
    for call in calls.values():
        owner = _owner(call, model)
        if owner is None:
            skipped += 1
            continue
        session = sessions.get(owner)
        if session is None:
            info = model.runners.get(owner)
            session = sessions[owner] = Session(owner)
            if info is not None:
                session.name, session.version, session.labels = info.name, info.version, info.labels
        session.calls.append(call)
    ordered = sorted(sessions.values(), key=lambda s: s.start)
    return SplitCapture(ordered, skipped)


def _owner(call: RecordedCall, model: LogModel) -> str | None:
    """The recorded runner uuid a call belongs to, or None when it is not replayed."""
    if call.failed or call.request is None:
        return None
    if call.method in RUNNER_CALLS:
        runner = field_of(call.response, "runner", "runner")
        uuid = field_of(runner, "uuid", "uuid") if isinstance(runner, dict) else None
        return str(uuid) if uuid else None
    if call.method == "FetchTask" or call.method in TASK_CALLS:
        tx = call.tx
        if not tx:
            return None
        task = model.tasks.get(tx)
        return task.runner if task is not None else UNKNOWN_RUNNER
    return None


def select_task(split: SplitCapture, tx: str) -> Session:
    """The session of recorded task `tx`, keeping only that runner's identity calls and the task's.

    `UsageError` (listing the tasks the capture has) when no session ran it.
    """
    for session in split.sessions:
        if tx in session.tasks:
            calls = [c for c in session.calls if c.method in RUNNER_CALLS or c.tx == tx]
            return Session(session.runner_uuid, session.name, session.version, session.labels, calls)
    known = ", ".join(split.tasks) or "none"
    raise UsageError(f"task {tx} is not in the capture (tasks: {known})")
