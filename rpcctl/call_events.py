"""Call events and the in-process bus that carries them to the TUI, the recorder and replay.

The stand-in server and the recording proxy publish the same events, so one log model
and one capture writer serve both, and a capture read back replays the same stream.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


class EventKind(enum.Enum):
    """What happened in a call."""

    START = "start"
    REQUEST = "request"
    RESPONSE = "response"
    END = "end"


@dataclass(frozen=True)
class CallEvent:
    """One event of one call.

    `message` is the decoded message as proto3 JSON (a dict) when a schema knows the
    method, else None with `raw` holding the bytes. `info` holds the kind-specific
    fields: for START `method`, `protocol`, `codec`, `headers` (list of [name, value]),
    `peer`; for END `code` (int), `message`, `details` (list of dicts), `trailers`,
    `duration` (seconds).
    """

    kind: EventKind
    call_id: str
    method: str
    time: float = field(default_factory=time.monotonic)
    message: Any = None
    raw: bytes | None = None
    info: dict[str, Any] = field(default_factory=dict)


class EventBus:
    """Fan-out of events to any number of subscribers, each with its own bounded queue.

    A subscriber that falls behind by more than `maxsize` events loses the oldest ones
    and is told how many through `dropped`; publishing never blocks the server.
    """

    def __init__(self, maxsize: int = 100_000) -> None:
        self.maxsize = maxsize
        self._subscribers: set[Subscription] = set()

    @property
    def has_subscribers(self) -> bool:
        """Whether anyone listens: publishers can skip building (and decoding) events if not."""
        return bool(self._subscribers)

    def publish(self, event: CallEvent) -> None:
        """Deliver an event to every subscriber (never blocks)."""
        for subscription in tuple(self._subscribers):
            subscription.put(event)

    def subscribe(self) -> Subscription:
        """A new subscription; close it (or use it as a context manager) when done."""
        subscription = Subscription(self, self.maxsize)
        self._subscribers.add(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)


class Subscription:
    """One subscriber's queue of events."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[CallEvent] = asyncio.Queue(maxsize)
        self.dropped = 0

    def put(self, event: CallEvent) -> None:
        """Queue an event, dropping the oldest if full."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    async def get(self) -> CallEvent:
        """The next event."""
        return await self._queue.get()

    def drain(self) -> list[CallEvent]:
        """Every event queued now, without waiting (for batching in the TUI)."""
        events = []
        while not self._queue.empty():
            events.append(self._queue.get_nowait())
        return events

    def close(self) -> None:
        """Stop receiving events."""
        self._bus._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aiter__(self) -> AsyncIterator[CallEvent]:
        while True:
            yield await self.get()
