"""Pacing: spacing batches of rows out to a target rate, the one place that knows how."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    """Lets `rate` rows per second through; `await take(n)` returns when n more rows may go.

    The first batch goes at once; each batch then waits until the rows before it have
    had their time. A pacer that fell behind (slow server) does not burst to catch up.
    `rate=None` never waits.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    async def take(self, rows: int) -> None:
        """Wait until `rows` more rows may be sent at the rate."""
        if self.rate is None:
            return
        now = self._clock()
        if self._next is not None and self._next > now:
            await self._sleep(self._next - now)
            now = self._next
        self._next = now + max(rows, 1) / self.rate
