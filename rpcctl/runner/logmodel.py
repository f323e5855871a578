"""The log model behind `rpcctl tail-logs`: RunnerService calls in, runners, tasks and logs out.

The model consumes only `CallEvent`s, so the recording proxy, the stand-in server and a
capture read back all feed it the same way. Plain Python, no Textual: the TUI and the
headless printer are views over it.

- `UpdateLog` requests fill the log streams (`logstream`); their responses' `ack_index`
  is checked against the request (paired by call id).
- `UpdateTask` requests set step and action states, times and messages; a response whose
  `pipeline_state` is cancelled marks the task cancelled, and each final one that changes
  it (success, failure, cancelled) is kept in the task's `history`.
- `Register`/`Declare`/`FetchTask` name runners and hand them tasks (`attribution`).
- Every call lands in `stats` (recent calls, calls/s, rows/s, errors).

Views poll `take_changes()` (what changed since the last poll) or watch `version`; the
headless printer instead registers a `LogListener` and hears every change as it happens.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from rpcctl.call_events import CallEvent, EventKind
from rpcctl.runner.attribution import TOKEN_HEADERS, token_from_headers, tx_from_content
from rpcctl.runner.callstats import CallRecord, CallStats
from rpcctl.runner.handlers import ADOPTED_TRAILER
from rpcctl.runner.logchanges import Changes, LogListener, StateChange
from rpcctl.runner.logstream import LogStream
from rpcctl.runner.logtree import UNKNOWN_RUNNER, Badge, RunnerInfo, StateEntry, StepKey, TaskInfo, badge_of
from rpcctl.runner.stepstates import apply_update
from rpcctl.runner.stepstates import as_int as _int
from rpcctl.runner.stepstates import get as _get
from rpcctl.runner.streamkey import StreamKey
from rpcctl.runner.tasknames import names_from_content

SERVICE_MARK = "RunnerService"
"""Calls whose method path contains this are RunnerService calls."""

MAX_KEPT_MESSAGES = 20
"""Request and response messages kept per call for the inspector (a stream's first ones)."""

_CANCELLED = ("cancelled", "canceled")


class _OpenCall:
    """A call between its START and END events."""

    __slots__ = ("expect", "name", "peer", "record", "request", "token")

    def __init__(self, record: CallRecord, name: str, peer: str, token: str) -> None:
        self.record = record
        self.name = name
        self.peer = peer
        self.token = token
        self.request: Any = None
        self.expect: tuple[StreamKey, int, int] | None = None


class LogModel:
    """Runners, tasks, steps, actions and log streams, built from call events."""

    def __init__(
        self,
        *,
        max_rows_per_stream: int = 10_000,
        max_task_arrivals: int = 20_000,
        max_recent_calls: int = 200,
        max_open_calls: int = 10_000,
        stats: CallStats | None = None,
        listener: LogListener | None = None,
        token_headers: tuple[str, ...] = TOKEN_HEADERS,
    ) -> None:
        self.max_rows_per_stream = max_rows_per_stream
        self.max_task_arrivals = max_task_arrivals
        self.max_open_calls = max_open_calls
        self.stats = stats or CallStats(max_recent=max_recent_calls)
        self.listener = listener
        self.token_headers = token_headers
        self.runners: dict[str, RunnerInfo] = {}
        self.tasks: dict[str, TaskInfo] = {}
        self.streams: dict[StreamKey, LogStream] = {}
        self.ack_mismatches = 0
        self.version = 0
        """Incremented by every ingest that changed something."""
        self.seq = 0
        """Arrival number of the last UpdateLog or UpdateTask request (orders rows and states)."""
        self.first_started: float | None = None
        """The event time (seconds, the source's clock) of the first call seen: the origin of
        the times the call inspector shows."""
        self._changes = Changes()
        self._open: dict[str, _OpenCall] = {}
        self._names: dict[str, str] = {}
        self._by_token: dict[str, str] = {}
        self._by_peer: dict[str, str] = {}

    # -- public API -------------------------------------------------------------------

    def ingest_many(self, events: Iterable[CallEvent]) -> None:
        """Ingest a batch of events (the views' usual way in)."""
        ingest = self.ingest
        for event in events:
            ingest(event)

    def ingest(self, event: CallEvent) -> None:
        """Ingest one event."""
        kind = event.kind
        if kind is EventKind.REQUEST:
            self._on_message(event, request=True)
        elif kind is EventKind.RESPONSE:
            self._on_message(event, request=False)
        elif kind is EventKind.START:
            self._start(event)
        elif kind is EventKind.END:
            self._end(event)

    def take_changes(self) -> Changes:
        """What changed since the previous call (then forgotten)."""
        changes, self._changes = self._changes, Changes()
        return changes

    def mark_cancel_requested(self, tx: str) -> None:
        """The user asked to cancel task `tx` (its next UpdateTask answer should confirm)."""
        task = self.tasks.get(tx)
        if task is not None and not task.cancel_requested:
            task.cancel_requested = True
            self._touch_task(tx)

    def runner_of(self, tx: str) -> RunnerInfo | None:
        """The runner task `tx` is attributed to."""
        task = self.tasks.get(tx)
        return None if task is None else self.runners.get(task.runner)

    def task_streams(self, tx: str) -> list[LogStream]:
        """The streams of task `tx`, ordered by key."""
        task = self.tasks.get(tx)
        if task is None:
            return []
        return [self.streams[key] for key in sorted(task.streams)]

    @property
    def rows(self) -> int:
        """Distinct rows received over all streams."""
        return sum(stream.received for stream in self.streams.values())

    # -- calls ------------------------------------------------------------------------

    def _method_name(self, method: str) -> str:
        name = self._names.get(method)
        if name is None:
            short = method.rpartition("/")[2]
            name = short if SERVICE_MARK in method else f"~{short}"
            self._names[method] = name
        return name

    def _start(self, event: CallEvent) -> _OpenCall:
        info = event.info
        name = self._method_name(event.method)
        record = CallRecord(0, event.call_id, name.lstrip("~"), str(info.get("protocol", "")), event.time)
        if self.first_started is None:
            self.first_started = event.time
        headers = info.get("headers") or ()
        record.path = event.method
        record.peer = str(info.get("peer") or "")
        record.codec = str(info.get("codec") or "")
        record.headers = _pairs(headers)
        call = _OpenCall(
            record, name, str(info.get("peer") or ""), token_from_headers(headers, self.token_headers)
        )
        if len(self._open) >= self.max_open_calls:
            del self._open[next(iter(self._open))]
        self._open[event.call_id] = call
        self.stats.count_call()
        return call

    def _end(self, event: CallEvent) -> None:
        call = self._open.pop(event.call_id, None)
        if call is None:
            return
        info = event.info
        duration = info.get("duration")
        latency = float(duration) if duration is not None else max(0.0, event.time - call.record.started)
        record = call.record
        record.message = str(info.get("message") or "")
        record.details = list(info.get("details") or ())
        record.trailers = _pairs(info.get("trailers") or ())
        record.response_headers = _pairs(info.get("response_headers") or ())
        for name, value in record.trailers:
            if name.lower() == ADOPTED_TRAILER:
                self.adopt(value)
        self.stats.finish(record, _int(info.get("code")), latency)
        self._changes.calls = True
        self.version += 1

    def _on_message(self, event: CallEvent, *, request: bool) -> None:
        call = self._open.get(event.call_id)
        if call is None:
            call = self._start(event)
        message = event.message
        kept = call.record.requests if request else call.record.responses
        if len(kept) < MAX_KEPT_MESSAGES:
            # What no schema decoded is kept as its base64 bytes, as the capture writes it.
            raw = event.raw
            undecoded = {"raw": base64.b64encode(raw).decode("ascii")} if raw is not None else None
            kept.append(message if message is not None else undecoded)
        if not isinstance(message, dict):
            return
        name = call.name
        if request:
            call.request = message
            if name == "UpdateLog":
                self._log_request(call, message)
            elif name == "UpdateTask":
                self._task_request(call, message)
            elif name == "FetchTask" or name == "Declare":
                call.token = str(message.get("token") or call.token)
            return
        if name == "UpdateLog":
            self._log_response(call, message)
        elif name == "UpdateTask":
            self._task_response(call, message)
        elif name in ("Register", "Declare"):
            self._runner_response(call, message)
        elif name == "FetchTask":
            self._fetch_response(call, message)

    # -- UpdateLog --------------------------------------------------------------------

    def _log_request(self, call: _OpenCall, message: dict[str, Any]) -> None:
        tx = str(_get(message, "txUuid", "tx_uuid", ""))
        key = StreamKey(
            tx,
            _int(_get(message, "stageIdx", "stage_idx")),
            _int(_get(message, "stepRowIdx", "step_row_idx")),
            _int(_get(message, "stepIdx", "step_idx")),
            _int(_get(message, "actionIdx", "action_idx")),
        )
        index = _int(message.get("index"))
        rows = message.get("rows") or []
        no_more = bool(_get(message, "noMore", "no_more", False))
        stream = self.streams.get(key)
        task = self._task(tx, call)
        if stream is None:
            stream = self.streams[key] = LogStream(key, self.max_rows_per_stream)
            task.streams.append(key)
        self.seq += 1
        runs = stream.add(index, rows, no_more, self.seq)
        call.expect = (key, index, len(rows))
        self.stats.count_rows(len(rows))
        listener = self.listener
        arrivals = task.arrivals
        for start, count in runs:
            task.rows += count
            arrivals.append((key, start, count))
            task.arrival_rows += count
            if listener is not None:
                chunk = rows if count == len(rows) else rows[start - index : start - index + count]
                listener.rows_added(stream, start, chunk)
        while task.arrival_rows > self.max_task_arrivals and len(arrivals) > 1:
            task.arrival_rows -= arrivals.popleft()[2]
        self._changes.streams.add(key)
        self._changes.tasks.add(tx)
        self.version += 1

    def _log_response(self, call: _OpenCall, message: dict[str, Any]) -> None:
        if call.expect is None:
            return
        key, index, count = call.expect
        stream = self.streams.get(key)
        if stream is None:
            return
        ack = _int(_get(message, "ackIndex", "ack_index"))
        if not stream.answer(index, count, ack):
            call.record.note = f"ack {ack} ≠ {index + count}"
            self.ack_mismatches += 1
            self._changes.streams.add(key)
            self._touch_task(key[0])

    # -- UpdateTask -------------------------------------------------------------------

    def _task_request(self, call: _OpenCall, message: dict[str, Any]) -> None:
        tx = str(_get(message, "txUuid", "tx_uuid", ""))
        task = self._task(tx, call)
        self.seq += 1

        def notify(step: StepKey, action: int | None, state: str, text: str) -> None:
            self._notify(StateChange(tx, step, action, state, text))

        apply_update(task, message, self.seq, notify)
        self._touch_task(tx)

    def _task_response(self, call: _OpenCall, message: dict[str, Any]) -> None:
        request = call.request
        if not isinstance(request, dict):
            return
        task = self.tasks.get(str(_get(request, "txUuid", "tx_uuid", "")))
        if task is None:
            return
        pipeline = str(_get(message, "pipelineState", "pipeline_state", ""))
        if pipeline and pipeline != task.pipeline_state:
            task.pipeline_state = pipeline
            if badge_of(pipeline) in (Badge.SUCCESS, Badge.FAILED, Badge.CANCELLED):
                self.seq += 1
                task.history.append(StateEntry(self.seq, pipeline))
            if pipeline.lower() in _CANCELLED and not task.cancelled:
                task.cancelled = True
                self._notify(StateChange(task.tx, None, None, "cancelled"))
            self._touch_task(task.tx)

    # -- runners and tasks ------------------------------------------------------------

    def _runner_response(self, call: _OpenCall, message: dict[str, Any]) -> None:
        data = message.get("runner")
        if not isinstance(data, dict) or not data.get("uuid"):
            return
        uuid = str(data["uuid"])
        runner = self.runners.get(uuid)
        if runner is None:
            runner = self.runners[uuid] = RunnerInfo(uuid)
        runner.name = str(data.get("name") or runner.name)
        runner.id = _int(data.get("id")) or runner.id
        runner.token = str(data.get("token") or runner.token)
        runner.version = str(data.get("version") or runner.version)
        runner.labels = tuple(str(label) for label in data.get("labels") or runner.labels)
        runner.peer = call.peer or runner.peer
        for token in (runner.token, call.token if call.name == "Declare" else ""):
            if token:
                self._by_token[token] = uuid
        if call.peer:
            self._by_peer[call.peer] = uuid
        self._changes.runners = True
        self.version += 1
        if self.listener is not None:
            self.listener.runner_seen(runner, call.name)

    def _fetch_response(self, call: _OpenCall, message: dict[str, Any]) -> None:
        content = str(message.get("content") or "")
        tx = tx_from_content(content)
        if tx:
            task = self._task(tx, call)
            names = names_from_content(content)
            if names:
                task.names = names
                self._touch_task(tx)

    def _runner_for(self, call: _OpenCall) -> str:
        if call.token:
            uuid = self._by_token.get(call.token)
            if uuid is not None:
                return uuid
        return self._by_peer.get(call.peer, UNKNOWN_RUNNER) if call.peer else UNKNOWN_RUNNER

    def _task(self, tx: str, call: _OpenCall) -> TaskInfo:
        task = self.tasks.get(tx)
        if task is not None and task.runner != UNKNOWN_RUNNER:
            return task
        runner_id = self._runner_for(call)
        if task is None:
            task = self.tasks[tx] = TaskInfo(tx, runner_id)
        elif runner_id == UNKNOWN_RUNNER:
            return task
        else:
            self.runners[UNKNOWN_RUNNER].tasks.remove(tx)
            task.runner = runner_id
        runner = self.runners.get(runner_id)
        if runner is None:
            runner = self.runners[runner_id] = RunnerInfo(runner_id)
        runner.tasks.append(tx)
        self._changes.runners = True
        self._touch_task(tx)
        return task

    def _touch_task(self, tx: str) -> None:
        self._changes.tasks.add(tx)
        self.version += 1

    def adopt(self, tx: str) -> None:
        """Mark task `tx` as adopted by the stand-in (it did not hand the task out)."""
        task = self.tasks.get(tx)
        if task is not None and not task.adopted:
            task.adopted = True
            self._touch_task(tx)

    def _notify(self, change: StateChange) -> None:
        if self.listener is not None:
            self.listener.state_changed(change)


def _pairs(items: Any) -> list[tuple[str, str]]:
    """Header or trailer pairs from an event's `[name, value]` lists (others skipped)."""
    pairs: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            pairs.append((str(item[0]), str(item[1])))
    return pairs
