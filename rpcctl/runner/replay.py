"""The replay engine: re-run the runner sessions of a capture against a target.

`replay()` splits a capture into runner sessions (`replay_sessions`), then runs every
session, `runners` copies of each, concurrently, each copy registering on its own and
calling the target over any protocol (`ChannelSettings`), whatever the capture used.
Identities the target issues replace the recorded ones (rules in `replay_runner`).
`replay_task()` is the one-task entry point of the TUI's replay key.

Pacing: `speed` 1 keeps the recorded gaps between calls (from event times), 10 makes them
ten times shorter, None (`--speed max`) does not wait. Sessions start at their recorded
offsets from the first replayed call.

The `ReplaySummary` says what happened; `ok` is False when a call failed, an ack
disagreed or an UpdateTask did not answer success.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpcctl.errors import SchemaError, UsageError
from rpcctl.runner.replay_runner import CopyResult, Pacing, Progress, SessionReplay
from rpcctl.runner.replay_sessions import Session, SplitCapture, select_task, split_sessions
from rpcctl.runner.simulator import CallListener, RunnerOptions
from rpcctl.wire.metadata import Metadata

if TYPE_CHECKING:
    from rpcctl.call import Channel
    from rpcctl.call_events import CallEvent
    from rpcctl.schema.registry import Schema
    from rpcctl.transport.target import ChannelSettings

MAX_SPEED = "max"


def parse_speed(text: str) -> float | None:
    """`--speed`: a positive factor (1, 10, 0.5…) or `max` (None: no waits)."""
    if text.strip().lower() == MAX_SPEED:
        return None
    try:
        speed = float(text)
    except ValueError:
        raise UsageError(f"invalid speed {text!r}: use a positive number or max") from None
    if not speed > 0 or speed == float("inf"):
        raise UsageError(f"invalid speed {text!r}: use a positive number or max")
    return speed


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay."""

    speed: float | None = 1.0  # None: as fast as the target answers
    runners: int = 1  # copies of each session
    tx: str | None = None  # replay only this recorded task
    as_tx: str | None = None  # the task id to use when the target's FetchTask names none
    registration_token: str | None = None  # None: the recorded one, unless redacted
    headers: tuple[tuple[str, str | bytes], ...] = ()  # sent with every call
    fetch_attempts: int = 10
    poll_interval: float = 0.2
    call_timeout: float | None = 10.0
    max_resends: int = 100


@dataclass
class ReplaySummary:
    """What a replay did."""

    target: str = ""
    protocol: str = ""
    sessions: int = 0  # recorded sessions replayed
    copies: list[CopyResult] = field(default_factory=list)
    skipped: int = 0  # recorded calls not replayed
    duration: float = 0.0

    def _sum(self, name: str) -> int:
        return sum(int(getattr(copy, name)) for copy in self.copies)

    @property
    def calls(self) -> int:
        """Calls made to the target (resends included)."""
        return self._sum("calls")

    @property
    def rows(self) -> int:
        """Rows of recorded batches delivered (first sends)."""
        return self._sum("rows")

    @property
    def rows_resent(self) -> int:
        """Rows sent again because an ack asked for them."""
        return self._sum("rows_resent")

    @property
    def ack_mismatches(self) -> int:
        """Acks that disagreed with the rows sent."""
        return self._sum("ack_mismatches")

    @property
    def update_failures(self) -> int:
        """UpdateTask answers without `success`."""
        return self._sum("update_failures")

    @property
    def errors(self) -> int:
        """Calls that failed, and tasks the target never handed out."""
        return self._sum("errors")

    @property
    def cancelled(self) -> list[str]:
        """Target task ids the target cancelled."""
        return [tx for copy in self.copies for tx in copy.cancelled]

    @property
    def tasks(self) -> dict[str, list[str]]:
        """Recorded task id -> the target task ids it was replayed onto (one per copy)."""
        out: dict[str, list[str]] = {}
        for copy in self.copies:
            for recorded, target in copy.tasks.items():
                out.setdefault(recorded, []).append(target)
        return out

    @property
    def disagreements(self) -> int:
        """Answers that disagreed with what a target following the protocol answers."""
        return self.ack_mismatches + self.update_failures

    @property
    def ok(self) -> bool:
        """True when nothing failed and nothing disagreed."""
        return not self.errors and not self.disagreements

    def to_json(self) -> dict[str, Any]:
        """The summary as one JSON object."""
        return {
            "ok": self.ok,
            "target": self.target,
            "protocol": self.protocol,
            "sessions": self.sessions,
            "runners": len(self.copies),
            "calls": self.calls,
            "rows": self.rows,
            "rows_resent": self.rows_resent,
            "ack_mismatches": self.ack_mismatches,
            "update_failures": self.update_failures,
            "errors": self.errors,
            "last_error": next((c.last_error for c in self.copies if c.last_error), ""),
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "tasks": self.tasks,
            "runner_uuids": [c.runner_uuid for c in self.copies],
            "duration": round(self.duration, 6),
        }


def load_sessions(source: Any, tx: str | None = None) -> tuple[SplitCapture, Schema | None]:
    """The sessions to replay (one, for `tx`) and the capture's schema; `UsageError` if unreadable."""
    from rpcctl.proxy.capture import Capture, read_capture

    schema = None
    if isinstance(source, str | Path):
        source = read_capture(source)
    if isinstance(source, Capture):
        schema = source.schema
        events: Iterable[CallEvent] = source.events()
    else:
        events = source
    split = split_sessions(events)
    if not split.sessions:
        raise UsageError(
            "the capture holds no runner session to replay (no Register, Declare, FetchTask, "
            f"UpdateTask or UpdateLog call; {split.skipped} call(s) skipped)"
        )
    if tx is not None:
        split = SplitCapture([select_task(split, tx)], split.skipped)
    return split, schema


def runner_schema(schema: Schema | None) -> Schema:
    """`schema` when it has the RunnerService, else the bundled runner schema."""
    from rpcctl.runner.messages import SERVICE

    if schema is not None:
        try:
            schema.find_service(SERVICE)
            return schema
        except (SchemaError, KeyError):
            pass
    from rpcctl.schema.registry import Schema
    from rpcctl.schema.sources import bundled_files

    return Schema(bundled_files())


async def replay(
    source: Any,
    settings: ChannelSettings,
    options: ReplayOptions | None = None,
    *,
    progress: Progress | None = None,
    observer: CallListener | None = None,
    channel: Channel | None = None,
) -> ReplaySummary:
    """Replay the sessions of `source` (a `Capture`, a capture path, or call events) on a target.

    `progress` hears one line per notable step (registered, task mapped, cancelled,
    ack mismatch, error), `observer` every call. `channel` (opened from `settings` when
    None, and then closed) carries every call.
    `UsageError` for an unreadable capture or an unknown `options.tx`.
    """
    opts = options or ReplayOptions()
    if opts.runners < 1:
        raise UsageError("--runners must be at least 1")
    split, schema = load_sessions(source, opts.tx)
    return await _run(split, runner_schema(schema), settings, opts, progress, observer, channel)


async def replay_task(
    capture_or_events: Any,
    tx_uuid: str,
    channel_settings: ChannelSettings,
    *,
    as_tx: str | None = None,
    speed: float | None = None,
    progress: Progress | None = None,
    options: ReplayOptions | None = None,
) -> ReplaySummary:
    """Replay one recorded task (the TUI's replay key): `replay` with `tx`, at `speed` (None: max)."""
    from dataclasses import replace

    opts = replace(options or ReplayOptions(), tx=tx_uuid, as_tx=as_tx, speed=speed)
    return await replay(capture_or_events, channel_settings, opts, progress=progress)


async def _run(
    split: SplitCapture,
    schema: Schema,
    settings: ChannelSettings,
    opts: ReplayOptions,
    progress: Progress | None,
    observer: CallListener | None,
    channel: Channel | None,
) -> ReplaySummary:
    from rpcctl.client import open_channel

    summary = ReplaySummary(str(settings.target), settings.protocol.value, len(split.sessions))
    summary.skipped = split.skipped
    own = channel is None
    channel = channel or open_channel(settings)
    started = time.monotonic()
    origin = min((s.start for s in split.sessions if s.calls), default=0.0)
    runner_options = RunnerOptions(
        fetch_attempts=opts.fetch_attempts,
        poll_interval=opts.poll_interval,
        call_timeout=opts.call_timeout,
        max_resends=opts.max_resends,
        max_duration=float("inf"),
    )
    headers = Metadata(opts.headers)
    copies = [
        SessionReplay(
            session,
            channel,
            schema,
            Pacing(opts.speed, origin, started),
            label=_label(session, n, k, opts.runners),
            name=_name(session, k, opts.runners),
            registration_token=opts.registration_token,
            as_tx=opts.as_tx,
            headers=headers,
            options=runner_options,
            progress=progress,
            observer=observer,
        )
        for n, session in enumerate(split.sessions, 1)
        for k in range(opts.runners)
    ]
    try:
        summary.copies = list(await asyncio.gather(*(copy.run() for copy in copies)))
    finally:
        if own:
            await channel.aclose()
    summary.duration = time.monotonic() - started
    return summary


def _name(session: Session, copy: int, copies: int) -> str:
    name = session.name or "rpcctl-replay"
    return f"{name}-{copy + 1}" if copies > 1 else name


def _label(session: Session, number: int, copy: int, copies: int) -> str:
    label = f"session {number} ({session.name or session.runner_uuid or 'unknown runner'})"
    return f"{label} #{copy + 1}" if copies > 1 else label
