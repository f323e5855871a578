"""`Recorder`: an event-bus subscription written to a capture file, started and stopped."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpcctl.proxy.capture import CaptureWriter

if TYPE_CHECKING:
    from rpcctl.call_events import EventBus, Subscription
    from rpcctl.proxy.redact import Redactor
    from rpcctl.schema.registry import Schema


class Recorder:
    """Records every event published on a bus, from `start()` to `stop()`, to a capture.

    The subscription is taken in `start()` itself, so no event published after it returns
    is missed; `stop()` writes what is still queued before closing the file. Also an async
    context manager.
    """

    def __init__(
        self,
        bus: EventBus,
        path: str | Path,
        schema: Schema | None = None,
        *,
        redact: bool | Redactor = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.bus = bus
        self.path = Path(path)
        self.schema = schema
        self.redact = redact
        self.extra = extra
        self.writer: CaptureWriter | None = None
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def dropped(self) -> int:
        """Events the bus dropped because the writer fell behind."""
        return self._subscription.dropped if self._subscription is not None else 0

    def start(self) -> None:
        """Create the capture file and start recording (in the running loop)."""
        if self._task is not None:
            raise RuntimeError("recorder already started")
        self.writer = CaptureWriter(self.path, self.schema, self.redact, extra=self.extra)
        self._subscription = self.bus.subscribe()
        self._task = asyncio.get_running_loop().create_task(
            self.writer.record(self._subscription), name=f"record {self.path}"
        )

    async def stop(self) -> None:
        """Write the events still queued, then stop and close the file (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._subscription is not None:
            # A task cancelled before it ever ran did not drain the queue itself.
            if self.writer is not None and task is not None:
                self.writer.write_many(self._subscription.drain())
            self._subscription.close()
        if self.writer is not None:
            self.writer.close()

    async def __aenter__(self) -> Recorder:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
