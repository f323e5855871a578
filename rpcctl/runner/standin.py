"""The stand-in RunnerService: runners, a queue of tasks, step states and log streams.

Each method takes the request message and returns the response message (classes from
the schema, see `rpcctl.runner.messages`), or raises `RpcError`:

- Register: issues a runner id (1, 2, …), a uuid and a token. With a
  `registration_token` configured, a request carrying another token is UNAUTHENTICATED.
- Declare: finds the runner by token (unknown: UNAUTHENTICATED) and uuid (unknown, or
  another runner's: NOT_FOUND); updates its version and labels when given.
- Ping: echoes `data`.
- FetchTask: authenticates the token, then hands out the first queued task whose labels
  the runner has all of (the request's labels, else the declared ones), one per call;
  `success=false` with a message when none is left for it.
- UpdateTask: records the step's state and answers
  `success=true`, `step_state` = the state recorded and `pipeline_state`:
  `cancelled` once `cancel(tx_uuid)` was called; else `failure` once a step reported
  failure; else `success` once every step of the task document reported a final
  state; else `running` (strings in `rpcctl.runner.states.State`).
- UpdateLog: see `rpcctl.runner.logstore` for the ack rules; rows for a stream closed
  by `no_more`: FAILED_PRECONDITION; a negative index: INVALID_ARGUMENT.
- A tx_uuid it did not hand out (a runner that was working before the stand-in
  (re)started) is adopted by UpdateTask and UpdateLog: kept from then on as a task with
  no document, listed in `adopted`. With `strict=True` such a call is NOT_FOUND instead;
  an empty tx_uuid always is.

The service is safe to share between the calls of one event loop: no method awaits
while it changes state, so each one is atomic there. It is not thread-safe.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rpcctl.errors import RpcError
from rpcctl.runner.logstore import LogStore, NegativeIndexError, StreamClosedError
from rpcctl.runner.messages import RunnerMessages
from rpcctl.runner.states import State
from rpcctl.runner.streamkey import StreamKey
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.runner.tasks import Task
    from rpcctl.schema.registry import Schema

StepKey = tuple[int, int, int]  # (stage_idx, step_row_idx, step_idx)


@dataclass
class RunnerRecord:
    """A registered runner."""

    id: int
    uuid: str
    token: str
    name: str
    version: str = ""
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionRecord:
    """An action's state as last reported."""

    name: str
    index: int
    state: str
    start_time: int = 0
    end_time: int = 0


@dataclass
class StepRecord:
    """A step's state as last reported, and how many UpdateTask calls reported it."""

    state: str
    start_time: int = 0
    end_time: int = 0
    message: str = ""
    outputs: str = ""
    actions: tuple[ActionRecord, ...] = ()
    updates: int = 0


@dataclass
class TaskRecord:
    """A task handed out (or cancelled before it was): who runs it and how far it got."""

    task: Task
    runner_uuid: str | None = None
    cancelled: bool = False
    adopted: bool = False
    steps: dict[StepKey, StepRecord] = field(default_factory=dict)

    @property
    def pipeline_state(self) -> State:
        """What UpdateTask answers as `pipeline_state` (rules in the module docstring)."""
        if self.cancelled:
            return State.CANCELLED
        states = {key: step.state for key, step in self.steps.items()}
        if State.FAILURE in states.values():
            return State.FAILURE
        keys = self.task.step_keys()
        if keys and all(states.get(k) in _FINAL for k in keys):
            return State.SUCCESS
        return State.RUNNING


_FINAL = {s.value for s in State if s.final}


class StandInService:
    """The stand-in RunnerService state and logic, on protobuf messages."""

    def __init__(
        self,
        schema: Schema,
        tasks: Iterable[Task] = (),
        *,
        registration_token: str | None = None,
        strict: bool = False,
    ) -> None:
        self.messages = RunnerMessages(schema)
        self.registration_token = registration_token
        self.strict = strict
        self.adopted: set[str] = set()
        """tx_uuids taken on from UpdateTask or UpdateLog without a FetchTask."""
        self.queue: list[Task] = list(tasks)
        self.runners: dict[str, RunnerRecord] = {}  # by token
        self.tasks: dict[str, TaskRecord] = {}  # handed out or cancelled, by tx_uuid
        self.logs = LogStore()
        self._next_id = 1

    # -- API for the CLI, the TUI and tests -------------------------------------------

    def add_task(self, task: Task) -> None:
        """Queue a task for FetchTask."""
        if task.tx_uuid in self.tasks or any(t.tx_uuid == task.tx_uuid for t in self.queue):
            raise ValueError(f"task {task.tx_uuid} is already known")
        self.queue.append(task)

    def cancel(self, tx_uuid: str) -> bool:
        """Cancel a task: its next UpdateTask answers `cancelled`. False if no such task."""
        record = self.tasks.get(tx_uuid)
        if record is None:
            for i, task in enumerate(self.queue):
                if task.tx_uuid == tx_uuid:
                    record = self.tasks[tx_uuid] = TaskRecord(self.queue.pop(i))
                    break
            else:
                return False
        record.cancelled = True
        return True

    def rows(self, tx_uuid: str) -> dict[StreamKey, list[str]]:
        """The rows stored for every log stream of a task."""
        return self.logs.task_rows(tx_uuid)

    # -- RunnerService -----------------------------------------------------------------

    async def ping(self, request: Any) -> Any:
        """Echo `data`."""
        return self.messages.new("PingResponse", data=request.data)

    async def register(self, request: Any) -> Any:
        """Issue a runner id, uuid and token."""
        if self.registration_token is not None and request.token != self.registration_token:
            raise RpcError(Code.UNAUTHENTICATED, "invalid registration token")
        runner = RunnerRecord(
            id=self._next_id,
            uuid=str(uuid.uuid4()),
            token=secrets.token_hex(16),
            name=request.name,
            version=request.version,
            labels=tuple(request.labels),
        )
        self._next_id += 1
        self.runners[runner.token] = runner
        return self.messages.new("RegisterResponse", runner=self._runner_message(runner))

    async def declare(self, request: Any) -> Any:
        """Look a runner up by token and uuid; update its version and labels."""
        runner = self._authenticate(request.token)
        if request.uuid != runner.uuid:
            raise RpcError(Code.NOT_FOUND, f"no runner with uuid {request.uuid!r} for this token")
        if request.version:
            runner.version = request.version
        if request.labels:
            runner.labels = tuple(request.labels)
        return self.messages.new("DeclareResponse", runner=self._runner_message(runner))

    async def fetch_task(self, request: Any) -> Any:
        """Hand out the first queued task whose labels the runner has."""
        runner = self._authenticate(request.token)
        labels = set(request.labels) or set(runner.labels)
        for i, task in enumerate(self.queue):
            if set(task.labels) <= labels:
                del self.queue[i]
                self.tasks[task.tx_uuid] = TaskRecord(task, runner_uuid=runner.uuid)
                return self.messages.new("FetchTaskResponse", success=True, content=task.fetch_content())
        if self.queue:
            wanted = ", ".join(sorted(labels))
            message = f"no task for labels [{wanted}] ({len(self.queue)} queued for other labels)"
        else:
            message = "no task left"
        return self.messages.new("FetchTaskResponse", success=False, message=message)

    async def update_task(self, request: Any) -> Any:
        """Record a step's state; answer the pipeline's state."""
        record = self._task(request.tx_uuid)
        key = (request.stage_idx, request.step_row_idx, request.step_idx)
        step = record.steps.get(key)
        if step is None:
            step = record.steps[key] = StepRecord(state="")
        reported = request.state
        step.state = reported.state or step.state
        step.start_time = reported.start_time or step.start_time
        step.end_time = reported.end_time or step.end_time
        step.message = reported.message or step.message
        step.outputs = request.outputs or step.outputs
        if reported.actions:
            step.actions = tuple(
                ActionRecord(a.name, a.index, a.state, a.start_time, a.end_time) for a in reported.actions
            )
        step.updates += 1
        return self.messages.new(
            "UpdateTaskResponse",
            pipeline_state=record.pipeline_state.value,
            step_state=step.state,
            success=True,
        )

    async def update_log(self, request: Any) -> Any:
        """Store a batch of rows; answer the next index the stream expects."""
        self._task(request.tx_uuid)
        key = StreamKey(
            request.tx_uuid, request.stage_idx, request.step_row_idx, request.step_idx, request.action_idx
        )
        try:
            ack = self.logs.append(key, request.index, request.rows, request.no_more)  # sliced there, no copy
        except StreamClosedError as exc:
            raise RpcError(Code.FAILED_PRECONDITION, str(exc)) from exc
        except NegativeIndexError as exc:
            raise RpcError(Code.INVALID_ARGUMENT, str(exc)) from exc
        return self.messages.new("UpdateLogResponse", ack_index=ack)

    # -- helpers -----------------------------------------------------------------------

    def _authenticate(self, token: str) -> RunnerRecord:
        runner = self.runners.get(token)
        if runner is None:
            raise RpcError(Code.UNAUTHENTICATED, "unknown runner token")
        return runner

    def _task(self, tx_uuid: str) -> TaskRecord:
        record = self.tasks.get(tx_uuid)
        if record is None:
            queued = any(task.tx_uuid == tx_uuid for task in self.queue)
            if self.strict or not tx_uuid or queued:
                raise RpcError(Code.NOT_FOUND, f"no task {tx_uuid!r} was handed out")
            from rpcctl.runner.tasks import Task

            record = self.tasks[tx_uuid] = TaskRecord(Task(tx_uuid), adopted=True)
            self.adopted.add(tx_uuid)
        return record

    def _runner_message(self, runner: RunnerRecord) -> Any:
        return self.messages.new(
            "RunnerResponse",
            id=runner.id,
            uuid=runner.uuid,
            token=runner.token,
            name=runner.name,
            version=runner.version,
            labels=list(runner.labels),
        )
