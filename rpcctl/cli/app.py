"""The `rpcctl` command: its lazily loaded commands by name, and the entry point.

Start-up is most of a one-off call's wall time, so the root group knows its commands by
name and one-line summary only: `rpcctl --help` and `--version` print from here without
importing typer (~55 ms of CPU). A plainly valid `rpcctl call|list|describe …` runs without
typer either (`rpcctl.cli.fastparse`, ~30 ms); any other command line imports typer, the
root group (`rpcctl.cli.group`) and that one command. Heavy libraries (grpc, protobuf,
textual, hypercorn) load inside the command bodies; `tests/cli/test_startup.py` proves
which stay out. This module imports only `os`, `sys` and `gc`.
"""

from __future__ import annotations

import gc
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~9 ms here)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from rpcctl.cli.env import Environment

COMPLETE_VAR = "_RPCCTL_COMPLETE"  # rpcctl.cli.completion.COMPLETE_VAR, without importing it
DAEMON_SERVE_VAR = "_RPCCTL_DAEMON_SERVE"  # rpcctl.daemon.launch.SERVE_ENV, without importing it
ROOT_HELP = "Debug, tail and load-test Protocol Buffers RPC APIs over gRPC, gRPC-Web and Connect."
ROOT_OPTIONS = (("--version", "Show the version and exit."), ("-h, --help", "Show this message and exit."))
_GC_PAUSED = False
# One-off commands whose process ends as soon as its output is flushed (see `_quick_exit`).
QUICK_EXIT = frozenset({"call", "list", "describe"})


class LazyCommand:
    """A subcommand known by name until it runs: `module:attribute` is its function or Typer;
    `fast`, ``module:function``, what that function forwards to, which a plainly valid command
    line reaches without typer (`rpcctl.cli.fastparse`)."""

    __slots__ = ("attribute", "fast", "module", "no_args_is_help", "summary")

    def __init__(
        self,
        module: str,
        attribute: str,
        summary: str,
        no_args_is_help: bool = False,
        fast: str | None = None,
    ) -> None:
        self.module = module
        self.attribute = attribute
        self.summary = summary
        self.no_args_is_help = no_args_is_help
        self.fast = fast


COMMANDS: dict[str, LazyCommand] = {
    "call": LazyCommand(
        "rpcctl.cli.call",
        "call_command",
        "Call a method: unary, server-, client- or bidi-streaming.",
        no_args_is_help=True,
        fast="rpcctl.cli.call_run:call",
    ),
    "list": LazyCommand(
        "rpcctl.cli.listing",
        "list_command",
        "List services, or the methods of one service.",
        fast="rpcctl.cli.listing_run:list_schema",
    ),
    "describe": LazyCommand(
        "rpcctl.cli.describe",
        "describe_command",
        "Show a service, method, message or enum in proto syntax.",
        no_args_is_help=True,
        fast="rpcctl.cli.describe_run:describe_symbol",
    ),
    "tail-logs": LazyCommand(
        "rpcctl.cli.tail_logs", "tail_logs_command", "Watch runners' logs live or from a capture."
    ),
    "serve": LazyCommand(
        "rpcctl.cli.serve", "serve_command", "Serve a stand-in RunnerService for runners to use."
    ),
    "replay": LazyCommand(
        "rpcctl.cli.replay",
        "replay_command",
        "Re-run the runner sessions of a capture against a server.",
        no_args_is_help=True,
    ),
    "demo": LazyCommand(
        "rpcctl.cli.demo", "demo_command", "Show everything at once: server, runners, logs, bench."
    ),
    "bench": LazyCommand(
        "rpcctl.cli.bench",
        "bench_command",
        "Load-test a method (ghz-style), or merge JSON reports.",
        no_args_is_help=True,
    ),
    "cache": LazyCommand("rpcctl.cli.cache", "cache_app", "Clear or locate the cached schemas."),
    "daemon": LazyCommand(
        "rpcctl.cli.daemon",
        "daemon_app",
        "Keep a preloaded process so calls start fast.",
    ),
    "completion": LazyCommand(
        "rpcctl.cli.completion",
        "completion_command",
        "Print the shell completion script for bash, zsh or fish.",
        no_args_is_help=True,
    ),
}


def __getattr__(name: str) -> Any:
    """`app`, `build_command` and `LazyGroup` from `rpcctl.cli.group`, imported on first use."""
    if name in ("app", "build_command", "LazyGroup"):
        from rpcctl.cli import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _help_width() -> int:
    """click's HelpFormatter width: the terminal's columns (as shutil reads them), 50 to 78."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns if columns > 0 else 80
    return max(min(columns, 80) - 2, 50)


def _wrap(text: str, width: int, indent: str) -> list[str] | None:
    """`text` in lines of at most `width` broken at spaces; None if a hyphenated word would
    reach a line's end (click's textwrap may break there, this does not)."""
    lines: list[str] = []
    line = indent
    for word in text.split(" "):
        candidate = word if line == indent else f"{line[len(indent) :]} {word}"
        if len(indent) + len(candidate) <= width:
            line = indent + candidate
            continue
        if "-" in word or line == indent:
            return None
        lines.append(line)
        line = indent + word
    return [*lines, line]


def root_help() -> str | None:
    """`rpcctl --help` as typer (click's formatter) prints it, or None where this simple
    layout might differ from click's (a narrow terminal): then typer prints it."""
    width = _help_width()
    about = _wrap(ROOT_HELP, width, "  ")
    if about is None:
        return None
    out = ["Usage: rpcctl [OPTIONS] COMMAND [ARGS]...", "", *about, ""]
    for title, rows in (
        ("Options", ROOT_OPTIONS),
        ("Commands", [(n, c.summary) for n, c in COMMANDS.items()]),
    ):
        first = max(len(name) for name, _ in rows) + 2
        out.append(f"{title}:")
        for name, text in rows:
            line = f"  {name:<{first}}{text}"
            if len(line) > width:
                return None
            out.append(line)
        out.append("")
    return "\n".join(out[:-1]) + "\n"


def _fast_path(args: list[str]) -> bool:
    """Print `--version` or the root `--help` without typer; False when typer must run
    (also once the typer app is loaded: commands may have been added to it)."""
    if "rpcctl.cli.group" in sys.modules:
        return False
    if args == ["--version"]:
        from rpcctl import __version__

        sys.stdout.write(f"rpcctl {__version__}\n")
        return True
    if args in (["--help"], ["-h"]):
        text = root_help()
        if text is not None:
            sys.stdout.write(text)
            return True
    return False


def pause_gc() -> None:
    """Turn the cyclic garbage collector off for start-up (its imports make only long-lived
    objects, which it would walk again and again: ~5% of a one-off call's CPU)."""
    global _GC_PAUSED
    if gc.isenabled():
        gc.disable()
        _GC_PAUSED = True


def resume_gc() -> None:
    """Turn the collector back on if `pause_gc` turned it off (a command's work has begun)."""
    global _GC_PAUSED
    if _GC_PAUSED:
        _GC_PAUSED = False
        gc.enable()


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> None:
    """Run rpcctl with `argv` (default: the process's arguments) and exit.

    Raises SystemExit with the exit status. Only as the process's entry point (no `argv`, no
    `env`) may a one-off command end the process at once (`_quick_exit`): a program that
    calls `main([...])` gets its SystemExit back."""
    args = list(sys.argv[1:] if argv is None else argv)
    completing = bool(os.environ.get(COMPLETE_VAR))
    if env is None:
        _closed_streams()
    try:
        _main(args, argv, env, completing)
    except KeyboardInterrupt:  # Ctrl-C before a command's own handling (its imports)
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None


def _main(args: list[str], argv: Sequence[str] | None, env: Environment | None, completing: bool) -> None:
    if env is None and argv is None and DAEMON_SERVE_VAR in os.environ:
        _become_daemon(os.environ.pop(DAEMON_SERVE_VAR))
    if env is None and argv is None and not completing and args and args[0] in QUICK_EXIT:
        from rpcctl.daemon.client import run_in_daemon

        status = run_in_daemon(args)  # None: no daemon runs it, so this process does
        if status is not None:
            sys.stderr.flush()
            os._exit(status)
    if env is None and not completing and _fast_path(args):
        raise SystemExit(0)
    if env is None:
        pause_gc()
    try:
        if completing or not _run_fast(args, env):
            _run(args, env)
    except SystemExit as done:
        if env is None and argv is None and args and args[0] in QUICK_EXIT:
            _quick_exit(done.code)
        raise
    finally:
        resume_gc()


def _closed_streams() -> None:
    """A standard stream the shell closed (`<&-`, `2>&-`) reads or writes /dev/null instead;
    stdout cannot (`>&-`: what would the answer go to?): one line on stderr, exit 1."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as sys.stderr
    if sys.stdin is None:
        sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as sys.stdin
    if sys.stdout is None:
        sys.stderr.write("error: standard output is closed\n")
        raise SystemExit(1)


def _become_daemon(spec: str) -> None:
    """Be the daemon `rpcctl daemon start` asked for (``IDLE_SECONDS SOCKET_PATH``) and exit."""
    from rpcctl.daemon.server import main as serve

    idle, _, path = spec.partition(" ")
    serve(float(idle), path)
    raise SystemExit(0)


def _quick_exit(code: object) -> None:
    """End the process now with `code` (an int or None), as the interpreter would have but
    without tearing down every module and object (~20 ms of CPU after a one-off call).

    What that skips does not matter here: the atexit handlers still run, stdout and stderr
    are flushed, every file a command writes is closed by then, and this returns (the
    ordinary exit follows) when a non-daemon thread is alive or a stream cannot be flushed."""
    if not (code is None or isinstance(code, int)):
        return
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        return  # the interpreter would wait for it
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # a closed pipe: Python's own exit reports it as it always does
    import atexit

    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code or 0)


def _run_fast(args: list[str], env: Environment | None) -> bool:
    """Run a command whose line `rpcctl.cli.fastparse` reads without typer, as typer would
    have run it; False (nothing done) when typer must read it. Raises SystemExit."""
    entry = COMMANDS.get(args[0]) if args else None
    if entry is None or entry.fast is None:
        return False
    group = sys.modules.get("rpcctl.cli.group")  # a program may have registered its own
    if group is not None and any(c.name == args[0] for c in group.app.registered_commands):
        return False
    from rpcctl.cli.fastparse import read
    from rpcctl.cli.fastspec import SPECS

    spec = SPECS.get(args[0])
    params = None if spec is None else read(spec, args[1:])
    if params is None:
        return False
    import importlib

    from rpcctl.cli.env import Environment

    module, _, name = entry.fast.partition(":")
    function = getattr(importlib.import_module(module), name)
    # What typer's `_main` does around a command's function, for what can reach it here.
    try:
        function(env or Environment(), **params)
    except EOFError:
        sys.stderr.write("\nAborted!\n")
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:  # as `rpcctl.cli.command.run` ends one: silent, exit 1
        from rpcctl.cli.command import silence_stdout

        silence_stdout()
        raise SystemExit(1) from None
    raise SystemExit(0)


def _run(args: list[str], env: Environment | None) -> None:
    import typer

    from rpcctl.cli.env import Environment
    from rpcctl.cli.group import app

    if os.environ.get(COMPLETE_VAR):
        from rpcctl.cli.completion import complete, completing

        if completing():
            sys.exit(complete(typer.main.get_command(app), os.environ))
    app(args=args, prog_name="rpcctl", obj=env or Environment())
