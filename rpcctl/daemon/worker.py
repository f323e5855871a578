"""A forked worker: it becomes the client's process in all that a command can see, runs it,
and ends with its exit status.

It takes on the client's standard file descriptors (so a terminal is still a terminal, and
stdin streams), working directory, umask, environment, arguments, stream encodings and
resource limits (getrlimit(2)) and nice value (`client_limits`); signal handlers are Python's defaults again
(SIGINT raises KeyboardInterrupt). Left as the daemon's: the controlling
terminal (the worker has none: a terminal reaches it as an open file, which it reads and
writes as usual) and the process group, so the client forwards signals.
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
    streams: str
    args: list[str]
    environ: dict[str, str]

    @classmethod
    def decode(cls, body: bytes, magic: bytes) -> Request:
        """Raises ValueError on a message that is not a request."""
        fields = body.split(b"\0")
        if len(fields) < 7 or fields[0] != magic:
            raise ValueError("not an rpcctl daemon request")
        count = int(fields[6])
        if not 0 <= count <= len(fields) - 7:
            raise ValueError("bad argument count")
        args = [os.fsdecode(arg) for arg in fields[7 : 7 + count]]
        environ: dict[str, str] = {}
        for entry in fields[7 + count :]:
            name, sep, value = entry.partition(b"=")
            if sep and name:
                environ[os.fsdecode(name)] = os.fsdecode(value)
        return cls(
            kind=fields[1].decode(),
            key=fields[2].decode("utf-8", "surrogateescape"),
            cwd=os.fsdecode(fields[3]),
            umask=int(fields[4]) & 0o777,
            streams=_checked_streams(fields[5].decode("ascii")),
            args=args,
            environ=environ,
        )


LIMITS = (
    "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_MEMLOCK",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS",
    "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
)  # fmt: skip


NICE = -1  # in `client_limits`, the key of the nice value (setpriority(2)), as (nice, nice)


def client_limits(pid: int) -> dict[int, tuple[int, int]]:
    """The resource limits of process `pid` (the client, by SO_PEERCRED), by RLIMIT_* number,
    and its nice value (key `NICE`). ValueError when they cannot be read, or a hard limit is
    above the daemon's or the nice value below it, which a worker could not take on: then the
    client runs the command itself."""
    import resource

    try:
        nice = os.getpriority(os.PRIO_PROCESS, pid)
    except OSError as exc:
        raise ValueError(f"cannot read the client's nice value: {exc.strerror}") from None
    if nice < os.getpriority(os.PRIO_PROCESS, 0) and os.geteuid() != 0:
        raise ValueError("the client's nice value is below the daemon's")

    def within(theirs: int, ours: int) -> bool:
        return ours == resource.RLIM_INFINITY or (theirs != resource.RLIM_INFINITY and theirs <= ours)

    limits = {}
    for name in LIMITS:
        number = getattr(resource, name, None)
        if number is None:
            continue
        try:
            theirs = resource.prlimit(pid, number)
        except OSError as exc:
            raise ValueError(f"cannot read the client's resource limits: {exc.strerror}") from None
        if not within(theirs[1], resource.getrlimit(number)[1]):
            raise ValueError(f"the client's {name} is above the daemon's")
        limits[number] = theirs
    limits[NICE] = (nice, nice)
    return limits


def _take_limits(limits: dict[int, tuple[int, int]]) -> None:
    import resource

    for number, wanted in limits.items():
        if number == NICE:
            if os.getpriority(os.PRIO_PROCESS, 0) != wanted[0]:
                os.setpriority(os.PRIO_PROCESS, 0, wanted[0])
        elif resource.getrlimit(number) != wanted:
            resource.setrlimit(number, wanted)


def run(request: Request, fds: list[int], limits: dict[int, tuple[int, int]] | None = None) -> int:
    """Run the request's command in this (forked) process, under `limits` (`client_limits`);
    its exit status (0–255)."""
    _take_limits(limits or {})
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
    _standard_streams(request.streams)
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


def _checked_streams(streams: str) -> str:
    """`streams` if it is `rpcctl.daemon.client.streams`'s shape with known codecs; ValueError."""
    import codecs

    parts = streams.split("|")
    if len(parts) != 4 or len(parts[0].split(":")) != 2:
        raise ValueError("bad stream encodings")
    for spec in parts[1:]:
        fields = spec.split(":") if spec else ["utf-8", "strict", "0", "0"]
        if len(fields) != 4:
            raise ValueError("bad stream encodings")
        try:
            codecs.lookup(fields[0])
            codecs.lookup_error(fields[1])
        except LookupError as exc:
            raise ValueError(str(exc)) from None
    return streams


def same_file_names(streams: str) -> bool:
    """Whether a client with these `streams` (`rpcctl.daemon.client.streams`) encodes file
    names and arguments as this interpreter does: else its arguments would read otherwise here."""
    return streams.partition("|")[0] == f"{sys.getfilesystemencoding()}:{sys.getfilesystemencodeerrors()}"


def _standard_streams(streams: str) -> None:
    """sys.stdin, stdout and stderr on descriptors 0–2, made as the client's interpreter made
    its own (encoding, errors, line buffering, write-through: `rpcctl.daemon.client.streams`)."""
    specs = streams.split("|")[1:]
    for fd, name, spec in zip((0, 1, 2), ("stdin", "stdout", "stderr"), specs, strict=True):
        encoding, errors, line_buffering, write_through = (spec or "utf-8:strict:0:0").split(":")
        unbuffered = write_through == "1" and fd != 0  # python -u: no buffer below stdout and stderr
        raw = open(fd, "rb" if fd == 0 else "wb", buffering=0 if unbuffered else -1, closefd=False)  # noqa: SIM115 - lives as sys.std*
        text = io.TextIOWrapper(
            raw,
            encoding=encoding,
            errors=errors,
            line_buffering=line_buffering == "1",
            write_through=write_through == "1",
        )
        setattr(sys, name, text)
        setattr(sys, f"__{name}__", text)
