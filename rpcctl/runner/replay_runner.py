"""One copy of one recorded runner session, re-run against a target as a runner would.

Identity mapping (what the target issues replaces what was recorded, in every later call):

- Register: sends the recorded name, version and labels; the registration token is the
  one given (`ReplayOptions.registration_token`), else the recorded one unless the
  capture redacted it (then ''). The answer's token, uuid and id become the copy's.
  A session whose Register is not in the capture registers first all the same.
- Declare and FetchTask: `token` (and Declare's `uuid`) are the copy's current ones.
- Token headers (`attribution.TOKEN_HEADERS`) a recorded call carried are sent with the
  copy's current token (`Bearer <token>` for `authorization`).
- FetchTask: when the recording handed out task T, the copy polls the target until it
  hands out a task, and T maps to that task's id. A target that answers with no task id
  (content without one) maps T to `as_tx`, else to T itself; a target that hands out no
  task at all is an error and T's calls are skipped.
- UpdateTask/UpdateLog: `tx_uuid` is the mapped task id (a task never fetched in the
  recording is fetched before its first call, by the same rule).

Checks: every UpdateLog ack must be `index + len(rows)` (or agree with the recorded ack,
when the recorded server asked for a resend too); any other ack is a mismatch, and the
rows go again from the target's ack through the simulator's ack loop (`push_rows`).
UpdateTask must answer `success`; a `cancelled` pipeline_state stops the task (a step still
running is reported cancelled, one whose final state got that answer keeps it, like the
simulator does; the task's later calls are dropped).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format

from rpcctl.runner.attribution import TOKEN_HEADERS, tx_from_content
from rpcctl.runner.replay_sessions import RecordedCall, Session, field_of
from rpcctl.runner.simulator import CallListener, RunnerOptions, RunStopped, SimulatedRunner
from rpcctl.runner.states import State
from rpcctl.runner.streamkey import StreamKey
from rpcctl.wire.metadata import Metadata

if TYPE_CHECKING:
    from rpcctl.call import Channel
    from rpcctl.schema.registry import Schema

Progress = Callable[[str], None]
REDACTED_MARK = "[REDACTED"
CANCELLED_STATES = ("cancelled", "canceled")
FINAL_STATES = frozenset(s.value for s in State if s.final) | set(CANCELLED_STATES)


@dataclass
class CopyResult:
    """What one copy of a session did."""

    label: str
    runner_uuid: str = ""  # the target's
    tasks: dict[str, str] = field(default_factory=dict)  # recorded tx -> target tx
    cancelled: list[str] = field(default_factory=list)  # target tx
    calls: int = 0
    rows: int = 0  # rows of recorded batches sent (first sends)
    rows_resent: int = 0
    ack_mismatches: int = 0
    update_failures: int = 0
    errors: int = 0
    last_error: str = ""


class Pacing:
    """Recorded pacing at `speed` (None: no waits): gaps between calls, never a catch-up burst."""

    def __init__(self, speed: float | None, origin: float, started: float) -> None:
        self.speed = speed
        self._recorded = origin
        self._sent = started

    async def wait(self, at: float) -> None:
        """Wait until the call recorded at `at` is due."""
        if self.speed is not None:
            delay = (at - self._recorded) / self.speed - (time.monotonic() - self._sent)
            if delay > 0:
                await asyncio.sleep(delay)
        self._recorded = max(self._recorded, at)
        self._sent = time.monotonic()


class SessionReplay:
    """Re-runs one session as one runner copy; `run()` never raises for RPC failures."""

    def __init__(
        self,
        session: Session,
        channel: Channel,
        schema: Schema,
        pacing: Pacing,
        *,
        label: str,
        name: str,
        registration_token: str | None = None,
        as_tx: str | None = None,
        headers: Metadata | None = None,
        options: RunnerOptions | None = None,
        progress: Progress | None = None,
        observer: CallListener | None = None,
    ) -> None:
        self.session = session
        self.pacing = pacing
        self.name = name
        self.registration_token = registration_token
        self.as_tx = as_tx
        self.headers = headers or Metadata()
        self.progress = progress
        opts = options or RunnerOptions()
        self.runner = SimulatedRunner(channel, schema, name, session.labels, opts, observer=observer)
        self.result = CopyResult(label)
        self._uuid = ""
        self._registered = False
        self._stopped: set[str] = set()  # recorded tx whose calls are dropped
        self._buffers: dict[StreamKey, list[str]] = {}  # recorded stream -> rows known

    async def run(self) -> CopyResult:
        """Replay every call of the session in order; stops at the first failed call."""
        try:
            for call in self.session.calls:
                if call.tx and call.tx in self._stopped and call.method != "FetchTask":
                    continue
                await self.pacing.wait(call.time)
                await self._replay(call)
        except RunStopped:
            self._say(f"stopped: {self.runner.summary.last_error or 'time budget spent'}")
        summary = self.runner.summary
        result = self.result
        result.calls = summary.calls
        result.rows_resent = summary.rows_sent
        result.ack_mismatches += summary.ack_mismatches
        result.errors += summary.errors
        result.last_error = summary.last_error or result.last_error
        result.runner_uuid = self._uuid
        return result

    # -- calls ------------------------------------------------------------------------

    async def _replay(self, call: RecordedCall) -> None:
        self._set_headers(call)
        if call.method == "Register":
            await self._register(call)
            return
        if not self._registered:
            await self._register(None)
        if call.method == "Declare":
            request = self._request(call, "DeclareRequest")
            request.token, request.uuid = self.runner.token, self._uuid
            await self.runner.send("Declare", request)
        elif call.method == "FetchTask":
            await self._fetch(call, call.tx)
        elif call.method == "UpdateTask":
            await self._update_task(call)
        elif call.method == "UpdateLog":
            await self._update_log(call)

    async def _register(self, call: RecordedCall | None) -> None:
        request = self._request(call, "RegisterRequest")
        if call is None:
            request.name, request.version = self.name, self.session.version
            request.labels.extend(self.session.labels)
        request.name = self.name
        if self.registration_token is not None:
            request.token = self.registration_token
        elif request.token.startswith(REDACTED_MARK):
            request.token = ""
        response = await self.runner.send("Register", request)
        self.runner.token, self._uuid = response.runner.token, response.runner.uuid
        self._registered = True
        self._say(f"registered as runner {response.runner.uuid} (id {response.runner.id})")

    async def _fetch(self, call: RecordedCall | None, recorded_tx: str) -> str | None:
        """Poll FetchTask until the target hands out a task; map `recorded_tx` onto it."""
        request = self._request(call, "FetchTaskRequest")
        if call is None:
            request.labels.extend(self.session.labels)
        request.token = self.runner.token
        opts = self.runner.options
        for attempt in range(max(opts.fetch_attempts, 1)):
            if attempt:
                await asyncio.sleep(opts.poll_interval)
            response = await self.runner.send("FetchTask", request)
            if response.success:
                target_tx = tx_from_content(response.content) or self.as_tx or recorded_tx
                if self.as_tx and target_tx != self.as_tx:
                    self._say(f"the target handed out task {target_tx}, not {self.as_tx}: replaying onto it")
                self.result.tasks[recorded_tx] = target_tx
                self._say(f"task {recorded_tx} -> {target_tx}")
                return target_tx
        self._stopped.add(recorded_tx)
        self.result.errors += 1
        self.result.last_error = f"FetchTask: the target handed out no task for recorded task {recorded_tx}"
        self._say(self.result.last_error)
        return None

    async def _target_tx(self, recorded_tx: str) -> str | None:
        target = self.result.tasks.get(recorded_tx)
        if target is None and recorded_tx not in self._stopped:
            target = await self._fetch(None, recorded_tx)
        return target

    async def _update_task(self, call: RecordedCall) -> None:
        target_tx = await self._target_tx(call.tx)
        if target_tx is None:
            return
        request = self._request(call, "UpdateTaskRequest")
        request.tx_uuid = target_tx
        response = await self.runner.send("UpdateTask", request)
        if not response.success:
            self.result.update_failures += 1
            self._say(f"UpdateTask {target_tx}: the target answered success=false")
        if response.pipeline_state.lower() in CANCELLED_STATES:
            if request.state.state.lower() not in FINAL_STATES:  # a finished step keeps its state
                request.state.state = State.CANCELLED.value
                request.state.message = "cancelled by the server"
                request.state.end_time = int(time.time())
                request.do_next = True
                await self.runner.send("UpdateTask", request)
            self._stopped.add(call.tx)
            self.result.cancelled.append(target_tx)
            self._say(f"task {target_tx} cancelled by the target: stopped")

    async def _update_log(self, call: RecordedCall) -> None:
        target_tx = await self._target_tx(call.tx)
        if target_tx is None:
            return
        request = self._request(call, "UpdateLogRequest")
        recorded_key = StreamKey(
            call.tx, request.stage_idx, request.step_row_idx, request.step_idx, request.action_idx
        )
        key = recorded_key._replace(tx_uuid=target_tx)
        request.tx_uuid = target_tx
        index, rows = int(request.index), list(request.rows)
        end = index + len(rows)
        buffer = self._buffers.setdefault(recorded_key, [])
        contiguous = 0 <= index <= len(buffer)
        if contiguous:
            buffer[index:end] = rows
        response = await self.runner.send("UpdateLog", request)
        self.result.rows += len(rows)
        ack = int(response.ack_index)
        recorded_ack = field_of(call.response, "ackIndex", "ack_index")
        if ack == end or (recorded_ack is not None and ack == int(recorded_ack)):
            return
        self.result.ack_mismatches += 1
        self._say(f"UpdateLog {'/'.join(map(str, key))}: ack_index {ack}, expected {end}")
        if contiguous and 0 <= ack < end:
            await self.runner.push_rows(
                key, buffer[:end], ack, no_more=request.no_more, batch_size=max(len(rows), 1)
            )

    # -- helpers -------------------------------------------------------------------------

    def _request(self, call: RecordedCall | None, type_name: str) -> Any:
        """The recorded request as a message (empty when `call` is None)."""
        message = self.runner.messages.new(type_name)
        if call is not None and call.request:
            json_format.ParseDict(
                call.request,
                message,
                ignore_unknown_fields=True,
                descriptor_pool=self.runner.messages.schema.pool,
            )
        return message

    def _set_headers(self, call: RecordedCall) -> None:
        """The user's headers, plus the token headers the recorded call had, with the current token."""
        metadata = Metadata(list(self.headers))
        token = self.runner.token
        for pair in call.headers:
            try:
                name, _ = pair
            except (TypeError, ValueError):
                continue
            name = str(name).lower()
            if token and name in TOKEN_HEADERS and name not in metadata:
                metadata.add(name, f"Bearer {token}" if name == "authorization" else token)
        self.runner.metadata = metadata

    def _say(self, line: str) -> None:
        if self.progress is not None:
            self.progress(f"{self.result.label}: {line}")
