"""Shows a stream of call events: the tail-logs TUI on a terminal, headless lines otherwise.

Shared by `tail-logs` and `demo`. Headless runs until the source ends, SIGTERM (exit 0)
or Ctrl-C (exit 130), then prints the summary with gaps. On a signal, `drain` (the
server's graceful close) runs first while the view keeps reading, so every call the
server answered, and so every row it acknowledged, is in the view and the summary. The
TUI quits on `q` or Ctrl-C, and on SIGTERM after the same drain (exit 0), restoring the
terminal.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from rpcctl.cli.env import Environment
from rpcctl.cli.exit import ExitStatus

if TYPE_CHECKING:
    from rpcctl.runner.tailing import SourceLike
    from rpcctl.tui.actions import StatusInfo, TuiActions


async def present(
    env: Environment,
    source: SourceLike,
    *,
    headless: bool,
    mode: str,
    status: StatusInfo,
    actions: TuiActions,
    until: Awaitable[Any] | None = None,
    drain: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Show `source` until the user quits (TUI) or it ends or is stopped (headless).

    `until`, when given, also ends a headless run (the demo's simulated runners finishing),
    unless a drain is under way. `drain`, when given, is awaited on SIGTERM or Ctrl-C before
    a headless run stops reading (a second signal stops it at once).
    """
    from rpcctl.runner.logmodel import LogModel

    model = LogModel()
    if not headless:
        return await _tui(source, model, mode, status, actions, drain)
    return await _headless(env, source, model, until, drain)


class _DrainThen:
    """A signal handler: the first signal runs `drain` (if any) then `done`; a second, `done` at once."""

    def __init__(self, drain: Callable[[], Awaitable[None]] | None, done: Callable[[], object]) -> None:
        self._drain = drain
        self._done = done
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def started(self) -> bool:
        """A drain is under way (or over)."""
        return bool(self._tasks)

    def __call__(self) -> None:
        if self._drain is None or self._tasks:
            self._done()
        else:
            self._tasks.append(asyncio.create_task(self._run(self._drain)))

    async def _run(self, drain: Callable[[], Awaitable[None]]) -> None:
        try:
            await drain()
        finally:
            self._done()

    async def wait(self) -> None:
        """Until the drain has ended (its failure is not raised here)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _tui(
    source: SourceLike,
    model: Any,
    mode: str,
    status: StatusInfo,
    actions: TuiActions,
    drain: Callable[[], Awaitable[None]] | None,
) -> int:
    # SIGTERM quits the TUI as `q` does, after the drain, so that the terminal is given back
    # (asyncio's default let the process die in the alternate screen with mouse tracking on).
    from rpcctl.tui.app import create_app

    app = create_app(model, mode=mode, status=status, actions=actions, source=source)
    loop = asyncio.get_running_loop()
    on_sigterm = _DrainThen(drain, app.exit)
    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        await app.run_async()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        await on_sigterm.wait()
    return ExitStatus.OK


async def _headless(
    env: Environment,
    source: SourceLike,
    model: Any,
    until: Awaitable[Any] | None,
    drain: Callable[[], Awaitable[None]] | None = None,
) -> int:
    from rpcctl.output.headless import HeadlessPrinter
    from rpcctl.runner.tailing import run_headless

    stop = asyncio.Event()
    interrupted = False
    loop = asyncio.get_running_loop()
    draining = _DrainThen(drain, stop.set)

    def on_signal(*, interrupt: bool) -> None:
        nonlocal interrupted
        interrupted = interrupted or interrupt
        draining()

    loop.add_signal_handler(signal.SIGINT, lambda: on_signal(interrupt=True))
    loop.add_signal_handler(signal.SIGTERM, lambda: on_signal(interrupt=False))
    waiter = None
    if until is not None:

        async def finish() -> None:
            await until
            await asyncio.sleep(0.2)  # let the last events reach the bus
            if not draining.started:  # else the drain stops the view once the server has closed
                stop.set()

        waiter = asyncio.create_task(finish())
    out = env.stdout

    def write(line: str) -> None:
        out.write(line + "\n")

    try:
        await run_headless(source, HeadlessPrinter(write), stop=stop, model=model)
        out.flush()
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
        if waiter is not None:
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)
        await draining.wait()
    return ExitStatus.INTERRUPTED if interrupted else ExitStatus.OK
