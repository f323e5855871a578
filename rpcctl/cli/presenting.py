"""Shows a stream of call events: the tail-logs TUI on a terminal, headless lines otherwise.

Shared by `tail-logs` and `demo`. Headless runs until the source ends, SIGTERM (exit 0)
or Ctrl-C (exit 130), then prints the summary with gaps.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable
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
) -> int:
    """Show `source` until the user quits (TUI) or it ends or is stopped (headless).

    `until`, when given, also ends a headless run (the demo's simulated runners finishing).
    """
    from rpcctl.runner.logmodel import LogModel

    model = LogModel()
    if not headless:
        from rpcctl.tui.app import create_app

        app = create_app(model, mode=mode, status=status, actions=actions, source=source)
        await app.run_async()
        return ExitStatus.OK
    return await _headless(env, source, model, until)


async def _headless(env: Environment, source: SourceLike, model: Any, until: Awaitable[Any] | None) -> int:
    from rpcctl.output.headless import HeadlessPrinter
    from rpcctl.runner.tailing import run_headless

    stop = asyncio.Event()
    interrupted = False
    loop = asyncio.get_running_loop()

    def on_interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        stop.set()

    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    waiter = None
    if until is not None:

        async def finish() -> None:
            await until
            await asyncio.sleep(0.2)  # let the last events reach the bus
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
    return ExitStatus.INTERRUPTED if interrupted else ExitStatus.OK
