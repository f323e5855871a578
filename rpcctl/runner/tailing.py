"""Feeding the log model: event sources in batches, and the headless tail-logs loop.

A source hands out batches of CallEvents: an EventBus subscription (proxy and stand-in
modes; it never ends on its own) or an iterable of events (offline `--from CAPTURE`;
it ends when exhausted). The TUI and the headless printer consume the same sources
through `pump`, which ingests in chunks and yields to the event loop between them, so
a large backlog never freezes the screen or delays Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from itertools import islice
from typing import Protocol, runtime_checkable

from rpcctl.call_events import CallEvent, Subscription
from rpcctl.runner.logmodel import LogListener, LogModel

CHUNK = 2_000
"""Events ingested between two yields to the event loop."""


@runtime_checkable
class EventSource(Protocol):
    """Where the log model's events come from."""

    async def next_batch(self) -> list[CallEvent] | None:
        """Wait for events and return them all; None once the source has ended."""

    def pending(self) -> list[CallEvent]:
        """Events available right now without waiting (read once more on stop)."""


class SubscriptionSource:
    """An EventBus subscription: waits for one event, then takes everything queued."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription

    async def next_batch(self) -> list[CallEvent] | None:
        """The next event and every event queued behind it."""
        first = await self.subscription.get()
        return [first, *self.subscription.drain()]

    def pending(self) -> list[CallEvent]:
        """Every event queued now."""
        return self.subscription.drain()


class IterableSource:
    """A (finite) iterable of events, such as a capture read back, in chunks."""

    def __init__(self, events: Iterable[CallEvent], chunk: int = CHUNK) -> None:
        self._events: Iterator[CallEvent] = iter(events)
        self.chunk = chunk

    async def next_batch(self) -> list[CallEvent] | None:
        """The next chunk, or None when the iterable is exhausted."""
        batch = list(islice(self._events, self.chunk))
        return batch or None

    def pending(self) -> list[CallEvent]:
        """Nothing: an offline source is not read further once stopped."""
        return []


class AsyncIterableSource:
    """An async iterable of events (one event per step; batched by whoever pumps)."""

    def __init__(self, events: AsyncIterable[CallEvent]) -> None:
        self._events: AsyncIterator[CallEvent] = aiter(events)

    async def next_batch(self) -> list[CallEvent] | None:
        """The next event as a batch of one, or None at the end."""
        try:
            return [await anext(self._events)]
        except StopAsyncIteration:
            return None

    def pending(self) -> list[CallEvent]:
        """Nothing is buffered here."""
        return []


SourceLike = EventSource | Subscription | Iterable[CallEvent] | AsyncIterable[CallEvent]


def as_source(source: SourceLike) -> EventSource:
    """Wrap a subscription, an iterable or an async iterable of events as an EventSource."""
    if isinstance(source, EventSource):
        return source
    if isinstance(source, Subscription):
        return SubscriptionSource(source)
    if isinstance(source, AsyncIterable):
        return AsyncIterableSource(source)
    return IterableSource(source)


async def pump(
    source: SourceLike,
    model: LogModel,
    *,
    stop: asyncio.Event,
    chunk: int = CHUNK,
    on_batch: Callable[[], None] | None = None,
) -> bool:
    """Ingest batches from `source` until it ends (True) or `stop` is set (False)."""
    events = as_source(source)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            fetching = asyncio.ensure_future(events.next_batch())
            await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not fetching.done():
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await fetching
                break
            batch = fetching.result()
            if batch is None:
                return True
            for start in range(0, len(batch), chunk):
                model.ingest_many(batch[start : start + chunk])
                if on_batch is not None:
                    on_batch()
                await asyncio.sleep(0)
        model.ingest_many(events.pending())
        return False
    finally:
        stopping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopping


class SummaryPrinter(LogListener, Protocol):
    """A listener that also prints a summary of the model at the end (the headless printer)."""

    def print_summary(self, model: LogModel) -> None:
        """Print the end-of-run summary."""


async def run_headless(
    source: SourceLike,
    printer: SummaryPrinter,
    *,
    stop: asyncio.Event,
    model: LogModel | None = None,
) -> LogModel:
    """Print rows and state changes as they arrive until `stop` or the source ends, then the summary."""
    model = model if model is not None else LogModel()
    model.listener = printer
    await pump(source, model, stop=stop)
    printer.print_summary(model)
    return model
