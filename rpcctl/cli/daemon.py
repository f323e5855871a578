"""`rpcctl daemon start|stop|status`: a process that keeps the call path imported."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from rpcctl.cli.command import environment
from rpcctl.cli.exit import ExitStatus
from rpcctl.cli.helptext import HelpfulGroup

START_TIMEOUT = 20.0  # seconds for a new daemon to import the call path and listen
DEFAULT_IDLE = "30m"
EXAMPLES = (
    ("keep the call path imported: later calls start in ~20 ms instead of ~120 ms", "rpcctl daemon start"),
    ("is one running, and how many commands has it run", "rpcctl daemon status"),
    ("end it now (it also ends after --idle without commands)", "rpcctl daemon stop"),
)

daemon_app = typer.Typer(
    name="daemon",
    cls=HelpfulGroup,
    help=(
        "Keep a preloaded process so calls start fast.\n\n"
        "A running daemon has protobuf, asyncio, typer and rpcctl's call path imported; call, "
        "list and describe hand their arguments, directory, environment and standard streams "
        "to it over a Unix socket only you can reach, and a forked worker runs the command "
        "exactly as a new process would. It ends after --idle without commands, on `rpcctl "
        "daemon stop`, or when rpcctl's files change. $RPCCTL_DAEMON=off never uses one; "
        "$RPCCTL_DAEMON=auto starts one when none runs. The socket lives in $RPCCTL_DAEMON_DIR, "
        "else $XDG_RUNTIME_DIR/rpcctl, else /tmp/rpcctl-UID."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@daemon_app.callback()
def daemon_group() -> None:
    """The group itself does nothing: its commands do (this holds the help's EXAMPLES)."""


def ask(kind: str) -> str | None:
    """The daemon's one-line answer to a `status` or `stop` request; None if none answers, or
    one that serves no command of this rpcctl (``no REASON``: another protocol version)."""
    import socket

    from rpcctl.daemon.client import encode_request
    from rpcctl.daemon.place import daemon_dir, install_key, socket_path, trusted

    key = install_key()
    path = socket_path(key)
    if not (os.path.exists(path) and trusted(daemon_dir())):
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5.0)
        try:
            sock.connect(path)
            sock.sendall(encode_request(kind, key))
            answer = sock.makefile("rb").readline(1024)
        except OSError:
            return None
    text = answer.decode("utf-8", "replace").strip()
    return None if not text or text.startswith("no ") else text


@daemon_app.command("start")
def start_command(
    ctx: typer.Context,
    idle: Annotated[
        str,
        typer.Option(
            "--idle", metavar="DURATION", help="End after this long without a command (1h, 30m, 90s)."
        ),
    ] = DEFAULT_IDLE,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing when it started.")] = False,
) -> None:
    """Start the daemon in the background (nothing happens if one runs)."""
    from rpcctl.daemon.place import DIR_ENV, daemon_dir, install_key, make_dir, socket_path
    from rpcctl.errors import UsageError
    from rpcctl.wire.timeout import parse_duration

    env = environment(ctx)
    try:
        seconds = parse_duration(idle, "--idle")
    except UsageError as exc:
        env.stderr.write(f"error: {exc}\n")
        raise typer.Exit(ExitStatus.USAGE) from None
    if seconds <= 0:
        env.stderr.write("error: --idle must be longer than 0s\n")
        raise typer.Exit(ExitStatus.USAGE)
    override = os.environ.get(DIR_ENV)
    if override and not os.path.isabs(override):
        env.stderr.write(f"error: ${DIR_ENV} must be an absolute path, not {override}\n")
        raise typer.Exit(ExitStatus.ERROR)
    path = socket_path(install_key())
    try:
        make_dir(daemon_dir())
    except OSError as exc:
        env.stderr.write(f"error: cannot use {daemon_dir()}: {exc.strerror or exc}\n")
        raise typer.Exit(ExitStatus.ERROR) from None
    if len(os.fsencode(path)) > 107:
        env.stderr.write(f"error: the socket path {path} is longer than 107 bytes: set $RPCCTL_DAEMON_DIR\n")
        raise typer.Exit(ExitStatus.ERROR) from None
    with _start_lock(path):  # two starts at once: the second finds the first's daemon running
        running = ask("status")
        if running is not None:
            if not quiet:
                env.stderr.write(f"rpcctl daemon already running: {running}\n")
            return
        log = os.path.join(daemon_dir(), "daemon.log")
        from rpcctl.daemon.launch import SERVE_ENV, detached

        with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as errors:
            process = detached([], {SERVE_ENV: f"{seconds} {path}"}, stdout=subprocess.PIPE, stderr=errors)
        assert process.stdout is not None
        line = _first_line(process, START_TIMEOUT)
        process.stdout.close()
    if not line.startswith(b"ok "):
        env.stderr.write(f"error: the daemon did not start (see {log})\n")
        raise typer.Exit(ExitStatus.ERROR)
    if not quiet:
        env.stderr.write(
            f"rpcctl daemon started: pid {process.pid}, socket {path}; it ends after {idle} "
            "without commands (rpcctl daemon stop ends it now)\n"
        )


@contextmanager
def _start_lock(path: str) -> Iterator[None]:
    """Hold ``SOCKET.lock`` (flock(2)) while checking for a daemon and starting one. Bounded:
    a holder lets go within START_TIMEOUT."""
    import fcntl

    with open(os.open(path + ".lock", os.O_WRONLY | os.O_CREAT, 0o600), "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The daemon's `ok PID` line, or b"" if it exits or stays silent for `timeout` seconds."""
    import selectors

    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if selector.select(end - time.monotonic()):
                return process.stdout.readline(1024)
            if process.poll() is not None:
                break
    return b""


@daemon_app.command("stop")
def stop_command(ctx: typer.Context) -> None:
    """Stop the daemon: it takes no new command and ends when its running ones have."""
    env = environment(ctx)
    answer = ask("stop")
    if answer is None:
        env.stderr.write("no rpcctl daemon is running\n")
        return
    env.stderr.write(f"rpcctl daemon stopping (pid {answer.removeprefix('ok ')})\n")


@daemon_app.command("status")
def status_command(ctx: typer.Context) -> None:
    """Print the daemon's pid, socket and counts; exit 1 when none runs."""
    from rpcctl.daemon.place import install_key, socket_path

    env = environment(ctx)
    answer = ask("status")
    if answer is None:
        env.stdout.write("no rpcctl daemon is running\n")
        raise typer.Exit(ExitStatus.ERROR)
    env.stdout.write(f"running: {answer} socket={socket_path(install_key())}\n")
