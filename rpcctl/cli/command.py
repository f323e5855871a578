"""Runs a command's coroutine: the one `asyncio.run`, and errors turned into exit statuses.

Typer-free: a one-off command runs through here with or without typer (`rpcctl.cli.fastparse`).
The exit status leaves as SystemExit, which click lets through unchanged."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from rpcctl.cli.app import resume_gc
from rpcctl.cli.env import Environment
from rpcctl.cli.exit import ExitStatus, exit_status_for
from rpcctl.errors import RpcctlError, RpcError

if TYPE_CHECKING:
    import typer

GC_PAUSE = 0.5  # seconds of a command's run without the cyclic garbage collector


def run(
    env: Environment,
    main: Callable[[], Coroutine[Any, Any, int | None]],
    *,
    verbose: bool = False,
    render: Callable[[BaseException], str] | None = None,
) -> None:
    """Run `main` to completion and exit with its status; never show a traceback by accident.

    Raises SystemExit with an `ExitStatus` (0 when `main` returns None)."""
    import asyncio  # ~20 ms: only a command that runs pays for it, not its --help

    async def started() -> int | None:
        # The collector, off since start-up (rpcctl.cli.app.pause_gc), comes back once
        # the imports are done: a one-off call ends before, a server or a stream lives on.
        asyncio.get_running_loop().call_later(GC_PAUSE, resume_gc)
        return await main()

    try:
        status = asyncio.run(started()) or ExitStatus.OK
    except KeyboardInterrupt:
        env.stderr.write("interrupted\n")
        raise SystemExit(ExitStatus.INTERRUPTED) from None
    except RpcctlError as exc:
        if render is None:
            from rpcctl.output.errors import render_error

            render = render_error
        env.stderr.write(render(exc) + "\n")
        if verbose and not isinstance(exc, RpcError) and exc.__cause__ is not None:
            env.stderr.write(f"  cause: {exc.__cause__!r}\n")
        raise SystemExit(exit_status_for(exc)) from None
    except BrokenPipeError:  # stdout's reader has gone (`| head -c 10`): nothing to say
        silence_stdout()
        raise SystemExit(ExitStatus.ERROR) from None
    except Exception as exc:  # a bug: say so in one line, the traceback only when asked
        env.stderr.write(f"error: internal error: {type(exc).__name__}: {exc}\n")
        if verbose or os.environ.get("RPCCTL_DEBUG"):
            import traceback

            traceback.print_exception(exc, file=env.stderr)
        else:
            env.stderr.write("  (run with RPCCTL_DEBUG=1 for the traceback)\n")
        raise SystemExit(ExitStatus.ERROR) from None
    raise SystemExit(status)


def silence_stdout() -> None:
    """Point stdout's descriptor at /dev/null, so the interpreter's last flush of what is still
    buffered does not fail again (the recipe of Python's "Note on SIGPIPE")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def environment(ctx: typer.Context) -> Environment:
    """The command's environment (tests pass their own through the click context)."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Environment) else Environment()
