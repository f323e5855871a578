"""Ending a run early: Ctrl-C (SIGINT) stops the load and keeps what it measured, as ghz does.

The first SIGINT trips a `StopSwitch`: the load loops stop starting calls, cancel the calls in
flight (they are not recorded) and return what finished, which the command reports before
exiting 130. A second SIGINT stops at once, without a report.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


class StopSwitch:
    """A one-way switch that load loops watch (one per process)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def tripped(self) -> bool:
        """True once the run was asked to stop."""
        return self._event.is_set()

    def trip(self) -> None:
        """Ask the run to stop (idempotent); runs the `on_trip` callbacks once."""
        if self._event.is_set():
            return
        self._event.set()
        for callback in self._callbacks:
            callback()

    def on_trip(self, callback: Callable[[], None]) -> None:
        """Call `callback` when the switch trips (at once if it already has)."""
        self._callbacks.append(callback)
        if self.tripped:
            callback()

    async def wait(self) -> None:
        """Return when the switch trips."""
        await self._event.wait()

    async def until(self, body: Awaitable[T]) -> T | None:
        """Run `body` until it ends (its result) or the switch trips (`body` cancelled; None)."""
        task = asyncio.ensure_future(body)
        waiter = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            cut = not task.done()
            if cut:
                task.cancel()
                # (a cancelled gather() ends with a CancelledError as its exception, not cancelled())
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return None if cut else task.result()

    @contextlib.contextmanager
    def on_sigint(self) -> Iterator[None]:
        """Within the block, SIGINT trips the switch; a second SIGINT raises `KeyboardInterrupt`.

        Outside the main thread (where no signal handler can be set) the block changes nothing.
        """
        loop = asyncio.get_running_loop()
        previous = signal.getsignal(signal.SIGINT)  # asyncio.run's own, which cancels the main task
        try:
            loop.add_signal_handler(signal.SIGINT, self._sigint)
        except (NotImplementedError, RuntimeError, ValueError):
            yield
            return
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _sigint(self) -> None:
        if self.tripped:
            raise KeyboardInterrupt
        self.trip()
