"""Hand a command to a running daemon, before anything heavy is imported.

The request is one message on the daemon's Unix socket: a 4-byte big-endian length, then
NUL-separated fields (kind, install key, working directory, umask, the interpreter's encodings
(`streams`), argument count, the arguments, ``NAME=VALUE`` environment entries), with the
three standard file descriptors attached as SCM_RIGHTS ancillary data (unix(7)).

The daemon answers lines: ``ready`` (it will run the command once told ``go``) or
``no REASON`` (run it here instead). Only after ``ready`` does the client answer ``go``: a
client that gave up waiting runs the command itself and the daemon, hearing no ``go``, does
not, so a command never runs twice. Then ``ok PID`` (a worker runs it; ``no REASON`` still
means it does not) and later ``exit STATUS``, or ``signal N`` when the worker was killed: the
client then ends by that signal too. Signals the client receives meanwhile (SIGINT, SIGTERM,
SIGHUP, SIGQUIT) are sent on to the worker, so Ctrl-C stops the command as it would a cold
one; Ctrl-Z (SIGTSTP) stops the worker with the client, which continues it when continued.
"""

from __future__ import annotations

import os
import sys

from rpcctl.daemon.place import USE_ENV, daemon_dir, install_key, socket_path, trusted

CONNECT_TIMEOUT = 2.0  # seconds to reach the daemon and hear ok/no before running cold
MAGIC = b"rpcctl-daemon/2"
FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")


def encode_request(kind: str, key: str, args: list[str] | None = None) -> bytes:
    """The request message: the length prefix and the NUL-separated fields."""
    argv = args or []
    fields = [
        MAGIC,
        kind.encode(),
        key.encode("utf-8", "surrogateescape"),
        os.fsencode(os.getcwd()) if args is not None else b"",
        str(_umask()).encode(),
        streams().encode(),
        str(len(argv)).encode(),
        *(os.fsencode(arg) for arg in argv),
        *(os.fsencode(name) + b"=" + os.fsencode(value) for name, value in os.environ.items()),
    ]
    body = b"\0".join(fields)
    return len(body).to_bytes(4, "big") + body


def streams() -> str:
    """How this interpreter decodes file names and arguments and wraps stdin, stdout and
    stderr, which a cold run of the command would share: ``FS_ENCODING:ERRORS`` then, per
    stream, ``ENCODING:ERRORS:LINE_BUFFERED:WRITE_THROUGH`` (``|``-separated; empty for a
    missing stream). Set by the locale, $PYTHONUTF8, $PYTHONIOENCODING, $PYTHONUNBUFFERED."""
    parts = [f"{sys.getfilesystemencoding()}:{sys.getfilesystemencodeerrors()}"]
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        errors = getattr(stream, "errors", None)
        if isinstance(encoding, str) and isinstance(errors, str):
            line_buffering = bool(getattr(stream, "line_buffering", False))
            write_through = bool(getattr(stream, "write_through", False))
            parts.append(f"{encoding}:{errors}:{line_buffering:d}:{write_through:d}")
        else:
            parts.append("")  # no stream, or not the interpreter's: the worker's defaults
    return "|".join(parts)


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def run_in_daemon(args: list[str]) -> int | None:
    """The exit status of `args` run by this installation's daemon, or None when there is no
    daemon to run it (none running, refused, unreachable): then the caller runs it itself.

    Once a worker has started the command, this never returns None (the command may have had
    effects): if the daemon goes away before the status comes back, the status is 1."""
    use = os.environ.get(USE_ENV, "").strip().lower()
    if use in ("off", "0", "no", "false"):
        return None
    key = install_key()
    path = socket_path(key)
    if not os.path.exists(path):
        if use == "auto":
            _start_in_background()
        return None
    if not trusted(daemon_dir()):
        return None
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            return None  # a closed standard stream: nothing to pass on
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    lines = Lines(sock)
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(path)
        fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
        request = encode_request("run", key, args)
        sent = sock.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        sock.sendall(request[sent:])  # one sendmsg may take only part of a large request
        if lines.next() != b"ready":
            sock.close()
            return None
        sock.sendall(b"go\n")  # from here on the daemon runs the command, unless it says no
        sock.settimeout(None)
        answer = lines.next()
    except OSError:
        sock.close()
        return None
    pid = _number(answer, b"ok ")
    if pid is None:
        sock.close()
        return None
    _forward_signals(pid)
    try:
        done = lines.next()
    except OSError:
        done = b""
    finally:
        sock.close()
    code = _number(done, b"exit ")
    if code is not None:
        return code
    number = _number(done, b"signal ")
    if number is not None:
        return _end_by(number)
    sys.stderr.write(f"error: the rpcctl daemon ended before its worker (pid {pid}) reported a status\n")
    return 1


class Lines:
    """The daemon's answer lines on `sock`, one at a time (two may come in one read: a fast
    worker's ``ok`` and ``exit``, or its ``exit`` and the daemon's)."""

    def __init__(self, sock: object) -> None:
        self.sock = sock
        self.data = b""

    def next(self) -> bytes:
        """The next line without its newline; b"" if the daemon closed first. Bounded: an
        answer line is short, and a longer one is not the daemon's."""
        while b"\n" not in self.data:
            chunk = self.sock.recv(256)  # type: ignore[attr-defined]
            if not chunk or len(self.data) > 1024:
                return b""
            self.data += chunk
        line, _, self.data = self.data.partition(b"\n")
        return line


def _number(line: bytes, prefix: bytes) -> int | None:
    """The decimal number after `prefix` in `line`, else None."""
    digits = line[len(prefix) :] if line.startswith(prefix) else b""
    return int(digits) if digits.isdigit() and len(digits) < 10 else None


def _end_by(number: int) -> int:
    """End this process by signal `number`, as the worker ended (a parent sees the signal, not
    an exit status); 128 + `number` should it survive (a signal that only stops or is ignored)."""
    import _signal

    sys.stderr.flush()
    try:
        _signal.signal(number, _signal.SIG_DFL)
        os.kill(os.getpid(), number)
    except (OSError, ValueError):
        pass
    return 128 + number


def _forward_signals(pid: int) -> None:
    import _signal

    def forward(number: int, _frame: object) -> None:
        try:  # noqa: SIM105 - contextlib is not imported on this path
            os.kill(pid, number)
        except OSError:
            pass  # the worker has ended; its status is on the way

    def suspend(number: int, _frame: object) -> None:
        # The worker is in the daemon's orphaned process group, where SIGTSTP stops no one.
        forward(_signal.SIGSTOP, None)
        _signal.signal(number, _signal.SIG_DFL)
        os.kill(os.getpid(), number)  # stopped here until SIGCONT (`fg`, `bg`)
        _signal.signal(number, suspend)
        forward(_signal.SIGCONT, None)

    for name in FORWARDED_SIGNALS:
        _signal.signal(getattr(_signal, name), forward)
    _signal.signal(_signal.SIGTSTP, suspend)


def _start_in_background() -> None:
    """$RPCCTL_DAEMON=auto and no daemon: start one for the next command; this one runs cold."""
    from rpcctl.daemon.launch import detached

    try:  # noqa: SIM105
        detached(["daemon", "start", "--quiet"])
    except OSError:
        pass
