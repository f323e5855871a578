"""A simulated CI runner on rpcctl's client API: the engine of demo, replay and bench scenarios.

`SimulatedRunner.run()` does what a runner does: Register (and Declare), FetchTask until
a task comes or the attempts run out, then for every stage, step and action of the task:
UpdateTask (step running), UpdateLog batches of rows at the chosen rate honouring
`ack_index`, UpdateTask (step done). It stops a task when an UpdateTask answers
`pipeline_state = "cancelled"` (reporting the step cancelled if it was still running; a step
whose final state that answer came to keeps it), after a failing step, at the first failed call, and when
its time budget is spent; every loop is bounded. The transport is any `rpcctl.call.Channel`.

Acks: after a batch [index, end) the server must answer `ack_index == end`. Any other
answer is an ack mismatch: it is counted and the runner goes on from the server's ack
(resending what the server lacks) at most `max_resends` times per stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from rpcctl.call import CallOptions, unary
from rpcctl.codec import codec_for
from rpcctl.errors import RpcctlError, UsageError
from rpcctl.runner.messages import RunnerMessages
from rpcctl.runner.pacing import Pacer
from rpcctl.runner.states import State
from rpcctl.runner.streamkey import StreamKey
from rpcctl.runner.tasks import Step, Task, parse_content
from rpcctl.wire.metadata import Metadata

if TYPE_CHECKING:
    from rpcctl.call import Channel
    from rpcctl.schema.registry import Schema

#: Called after every call with the method name, its duration in seconds and its error.
CallListener = Callable[[str, float, BaseException | None], None]


def default_row_text(key: StreamKey, index: int) -> str:
    """The text of log row `index` of a stream."""
    return f"[{key.stage_idx}.{key.step_row_idx}.{key.step_idx}.{key.action_idx}] line {index}"


@dataclass(frozen=True)
class RunnerOptions:
    """How a simulated runner behaves; every loop it runs is bounded by these."""

    version: str = "rpcctl-simulator"
    registration_token: str = ""
    declare: bool = True
    tasks: int = 1  # tasks to run before stopping
    rows_per_action: int = 20  # when the task's action does not say
    batch_size: int = 50
    rows_per_second: float | None = None  # None: as fast as the server answers
    fetch_attempts: int = 10
    poll_interval: float = 0.2
    max_duration: float = 60.0
    max_resends: int = 100  # per stream
    fail_step: tuple[int, int] | None = None  # (stage_idx, step_row_idx) to report failed
    stop_on_cancel: bool = True
    keep_rows: bool = False  # keep every row sent, per stream, in the summary
    call_timeout: float | None = 10.0
    row_text: Callable[[StreamKey, int], str] = default_row_text


@dataclass
class RunSummary:
    """What a simulated runner did."""

    runner_uuid: str = ""
    tasks: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    failed_steps: int = 0
    calls: int = 0
    errors: int = 0
    last_error: str = ""
    timed_out: bool = False
    rows_sent: int = 0  # every row in an UpdateLog request, resends included
    rows_acked: int = 0  # distinct rows the server acknowledged (each stream's highest ack)
    ack_mismatches: int = 0
    duration: float = 0.0
    sent: dict[StreamKey, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no call failed, no ack disagreed and time did not run out."""
        return not self.errors and not self.ack_mismatches and not self.timed_out


@dataclass
class _ActionProgress:
    """An action's state as the runner reports it in UpdateTask."""

    name: str
    index: int
    state: State = State.PENDING
    start_time: int = 0
    end_time: int = 0


class RunStopped(Exception):
    """Ends the run early (an error or the time budget); the summary says why."""


_Stop = RunStopped


class _Cancelled(Exception):
    """The server answered `cancelled` for the task being run."""


class SimulatedRunner:
    """One simulated runner talking to a RunnerService through `channel`."""

    def __init__(
        self,
        channel: Channel,
        schema: Schema,
        name: str = "rpcctl-sim",
        labels: Sequence[str] = (),
        options: RunnerOptions | None = None,
        *,
        observer: CallListener | None = None,
    ) -> None:
        self.channel = channel
        self.messages = RunnerMessages(schema)
        self.codec = codec_for(channel.codec, schema.pool)
        self.name = name
        self.labels = tuple(labels)
        self.options = options or RunnerOptions()
        self.observer = observer
        self.summary = RunSummary()
        self.token = ""
        self._deadline = time.monotonic() + self.options.max_duration
        self._pacer = Pacer(self.options.rows_per_second)
        self.metadata = Metadata()
        """Request metadata of every call (replay puts token headers here)."""

    async def run(self) -> RunSummary:
        """Register, fetch and run up to `options.tasks` tasks; never raises for RPC failures."""
        started = time.monotonic()
        self._deadline = started + self.options.max_duration
        try:
            await self.register()
            for _ in range(self.options.tasks):
                task = await self.fetch()
                if task is None:
                    break
                await self.run_task(task)
        except _Stop:
            pass
        self.summary.duration = time.monotonic() - started
        return self.summary

    async def register(self) -> None:
        """Register (then Declare, if asked); keeps the token the server issued."""
        response = await self._call(
            "Register",
            "RegisterRequest",
            name=self.name,
            token=self.options.registration_token,
            version=self.options.version,
            labels=list(self.labels),
        )
        self.token = response.runner.token
        self.summary.runner_uuid = response.runner.uuid
        if self.options.declare:
            await self._call(
                "Declare",
                "DeclareRequest",
                token=self.token,
                uuid=self.summary.runner_uuid,
                version=self.options.version,
                labels=list(self.labels),
            )

    async def fetch(self) -> Task | None:
        """Poll FetchTask until it hands out a task, at most `fetch_attempts` times."""
        import asyncio

        for attempt in range(self.options.fetch_attempts):
            if attempt:
                await asyncio.sleep(min(self.options.poll_interval, self._remaining()))
            response = await self._call(
                "FetchTask", "FetchTaskRequest", token=self.token, labels=list(self.labels)
            )
            if response.success:
                try:
                    return parse_content(response.content)
                except UsageError as exc:
                    self._fail(str(exc))
        return None

    async def run_task(self, task: Task) -> None:
        """Run every step of a task, stopping on cancellation or a failing step."""
        self.summary.tasks.append(task.tx_uuid)
        try:
            for s, stage in enumerate(task.stages):
                for r, step in enumerate(stage.steps):
                    if not await self._run_step(task.tx_uuid, (s, r, 0), step):
                        return
        except _Cancelled:
            self.summary.cancelled.append(task.tx_uuid)

    async def _run_step(self, tx_uuid: str, where: tuple[int, int, int], step: Step) -> bool:
        """One step; False when it failed (the task stops there)."""
        stage_idx, row_idx, step_idx = where
        started = int(time.time())
        actions = [_ActionProgress(a.name, i) for i, a in enumerate(step.actions)]

        async def report(state: State, message: str = "", end: int = 0) -> None:
            action_states = [
                self.messages.new(
                    "ActionState",
                    name=p.name,
                    index=p.index,
                    state=p.state.value,
                    start_time=p.start_time,
                    end_time=p.end_time,
                )
                for p in actions
            ]
            step_state = self.messages.new(
                "StepState",
                state=state.value,
                start_time=started,
                end_time=end,
                actions=action_states,
                message=message,
            )
            response = await self._call(
                "UpdateTask",
                "UpdateTaskRequest",
                tx_uuid=tx_uuid,
                stage_idx=stage_idx,
                step_row_idx=row_idx,
                step_idx=step_idx,
                state=step_state,
                do_next=state.final,
            )
            if response.pipeline_state == State.CANCELLED and self.options.stop_on_cancel:
                if not state.final:  # a finished step keeps its state; a running one is cut short
                    await report(State.CANCELLED, "cancelled by the server", int(time.time()))
                raise _Cancelled

        fails = step.fail or self.options.fail_step == (stage_idx, row_idx)
        await report(State.RUNNING)
        for a, action in enumerate(step.actions):
            actions[a].state, actions[a].start_time = State.RUNNING, int(time.time())
            key = StreamKey(tx_uuid, stage_idx, row_idx, step_idx, a)
            count = self.options.rows_per_action if action.rows is None else action.rows
            await self.push_log(key, [self.options.row_text(key, n) for n in range(count)])
            last = a == len(step.actions) - 1
            final = State.FAILURE if fails and last else State.SUCCESS
            actions[a].state, actions[a].end_time = final, int(time.time())
            if not last:
                await report(State.RUNNING)
        if fails:
            self.summary.failed_steps += 1
            await report(State.FAILURE, "simulated failure", int(time.time()))
            return False
        await report(State.SUCCESS, end=int(time.time()))
        return True

    async def push_log(self, key: StreamKey, rows: Sequence[str]) -> int:
        """Send one stream's rows in paced batches, the last with `no_more`; return the final ack.

        Honours `ack_index`: a server that answers anything but the end of the batch is
        counted as a mismatch and gets the rows again from its ack.
        """
        if self.options.keep_rows:
            self.summary.sent[key] = list(rows)
        return await self.push_rows(key, rows)

    async def push_rows(
        self,
        key: StreamKey,
        rows: Sequence[str],
        start: int = 0,
        *,
        no_more: bool = True,
        batch_size: int | None = None,
    ) -> int:
        """Send `rows[start:]` (a stream's rows from its first) in paced batches; return the final ack.

        The pacing and ack loop of `push_log`, also used by replay to resend from an ack:
        the last batch carries `no_more` when asked; any ack but the batch's end is a
        mismatch, and sending goes on from the server's ack (at most `max_resends` times).
        """
        opts = self.options
        size = max(batch_size or opts.batch_size, 1)
        total, index, resends = len(rows), start, 0
        acked = start  # the highest ack so far: rows up to it count as accepted once
        while True:
            end = min(index + size, total)
            batch = list(rows[index:end])
            await self._pacer.take(len(batch))
            response = await self._call(
                "UpdateLog",
                "UpdateLogRequest",
                tx_uuid=key.tx_uuid,
                stage_idx=key.stage_idx,
                step_row_idx=key.step_row_idx,
                step_idx=key.step_idx,
                action_idx=key.action_idx,
                index=index,
                rows=batch,
                no_more=no_more and end == total,
            )
            self.summary.rows_sent += len(batch)
            ack = int(response.ack_index)
            if acked < ack <= end:
                self.summary.rows_acked += ack - acked
                acked = ack
            if ack == end and end == total:
                return ack
            if ack != end:
                self.summary.ack_mismatches += 1
                resends += 1
                if not 0 <= ack <= total or resends > opts.max_resends:
                    stream = "/".join(map(str, key))
                    self._fail(f"UpdateLog {stream}: gave up at ack_index {ack} (sent up to {end})")
            index = ack

    async def _call(self, method: str, request_type: str, **fields: Any) -> Any:
        """One unary call built from `fields`; see `send`."""
        return await self.send(method, self.messages.new(request_type, **fields))

    async def send(self, method: str, request: Any) -> Any:
        """One unary call of RunnerService `method` with a built request; its response.

        Errors and the time budget end the run: they are counted in the summary and
        raise `RunStopped`.
        """
        remaining = self._remaining()
        if remaining <= 0:
            self.summary.timed_out = True
            raise _Stop
        limit = self.options.call_timeout
        timeout = remaining if limit is None else min(remaining, limit)
        descriptor = self.messages.method(method)
        started = time.monotonic()
        self.summary.calls += 1
        try:
            data = await unary(
                self.channel,
                self.messages.method_info(method),
                self.codec.encode(request),
                CallOptions(metadata=self.metadata, timeout=timeout),
            )
            response = self.codec.decode(data, self.messages.schema.message_class(descriptor.output_type))
        except RpcctlError as exc:
            if self.observer:
                self.observer(method, time.monotonic() - started, exc)
            self._fail(f"{method}: {exc}")
        if self.observer:
            self.observer(method, time.monotonic() - started, None)
        return response

    def _remaining(self) -> float:
        return self._deadline - time.monotonic()

    def _fail(self, message: str) -> NoReturn:
        self.summary.errors += 1
        self.summary.last_error = message
        raise _Stop(message)
