"""A forked worker: it becomes the client's process in all that a command can see, runs it,
and ends with its exit status.

It takes on the client's standard file descriptors (so a terminal is still a terminal, and
stdin streams), working directory, umask, environment and arguments; signal handlers are
Python's defaults again (SIGINT raises KeyboardInterrupt). Left as the daemon's: resource
limits, the controlling terminal (the worker has none: a terminal reaches it as an open file,
which it reads and writes as usual) and the process group, so the client forwards signals.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    """A command as the client sent it (see `rpcctl.daemon.client.encode_request`)."""

    kind: str
    key: str
    cwd: str
    umask: int
    args: list[str]
    environ: dict[str, str]

    @classmethod
    def decode(cls, body: bytes, magic: bytes) -> Request:
        """Raises ValueError on a message that is not a request."""
        fields = body.split(b"\0")
        if len(fields) < 6 or fields[0] != magic:
            raise ValueError("not an rpcctl daemon request")
        count = int(fields[5])
        if not 0 <= count <= len(fields) - 6:
            raise ValueError("bad argument count")
        args = [os.fsdecode(arg) for arg in fields[6 : 6 + count]]
        environ: dict[str, str] = {}
        for entry in fields[6 + count :]:
            name, sep, value = entry.partition(b"=")
            if sep and name:
                environ[os.fsdecode(name)] = os.fsdecode(value)
        return cls(
            kind=fields[1].decode(),
            key=fields[2].decode("utf-8", "surrogateescape"),
            cwd=os.fsdecode(fields[3]),
            umask=int(fields[4]) & 0o777,
            args=args,
            environ=environ,
        )


def run(request: Request, fds: list[int]) -> int:
    """Run the request's command in this (forked) process; its exit status (0–255)."""
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request.cwd)
    os.umask(request.umask)
    os.environ.clear()
    os.environ.update(request.environ)
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as the interpreter sets it at start-up
    _standard_streams(request.environ)
    sys.argv = ["rpcctl", *request.args]
    try:
        _main(request.args)
        code: object = 0
    except SystemExit as done:
        code = done.code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    return code & 0xFF


def _main(args: list[str]) -> None:
    """`rpcctl.cli.app.main` on `args`: as given arguments (not the process's), it neither
    hands the command to a daemon nor ends the process itself."""
    from rpcctl.cli.app import main

    main(args)


def _standard_streams(environ: dict[str, str]) -> None:
    """sys.stdin, stdout and stderr on descriptors 0–2, made as the interpreter makes them:
    line-buffered stdout on a terminal, line-buffered stderr with backslashreplace,
    $PYTHONIOENCODING honoured."""
    spec = environ.get("PYTHONIOENCODING", "")
    name, _, errors = spec.partition(":")
    encoding = name or getattr(sys.__stdout__, "encoding", None) or "utf-8"
    strict = errors or getattr(sys.__stdout__, "errors", None) or "strict"

    def text(fd: int, mode: str, errors: str, line_buffering: bool) -> io.TextIOWrapper:
        raw = open(fd, mode + "b", buffering=-1, closefd=False)  # noqa: SIM115 - lives as sys.std*
        return io.TextIOWrapper(raw, encoding=encoding, errors=errors, line_buffering=line_buffering)

    sys.stdin = sys.__stdin__ = text(0, "r", strict, False)  # type: ignore[misc]
    sys.stdout = sys.__stdout__ = text(1, "w", strict, os.isatty(1))  # type: ignore[misc]
    sys.stderr = sys.__stderr__ = text(2, "w", errors or "backslashreplace", True)  # type: ignore[misc]
