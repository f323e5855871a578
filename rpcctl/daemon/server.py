"""The daemon process: imports the call path once, then forks a worker per command.

`rpcctl daemon start` runs rpcctl again, detached, with $_RPCCTL_DAEMON_SERVE set (see
`rpcctl.daemon.launch`), and that process calls `main`. One thread, one `selectors` loop
over: the listening socket; each connection still sending its request (read without blocking, REQUEST_TIMEOUT
seconds allowed, MAX_PENDING at once: a stuck client holds no one up); each worker's pidfd
(pidfd_open(2)), readable when it has ended; and each client's connection, readable when the
client has gone (then its worker gets SIGTERM).

A command runs once, in the daemon or in the client, never in both: the daemon answers a
complete request ``ready``, and forks the worker only on the client's ``go``; a client that
gave up waiting sends no ``go`` (it closes), so its command is not run here. The worker keeps
its copy of the connection and writes ``ok PID`` and ``exit STATUS`` itself, so a call
outlives a daemon killed under it; the daemon writes ``exit`` too when it reaps the worker
(the client reads the first), or ``signal N`` for a worker killed by a signal, by which the
client then ends itself, as a parent of a cold run would see it end. The daemon ends
after IDLE_SECONDS without a command, on a `stop` request, or when a source file of rpcctl it
imported has changed since (a new version is installed or being edited: the command it was
asked then runs cold, the next starts a fresh daemon if asked to).
"""

from __future__ import annotations

import contextlib
import gc
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from typing import NoReturn

from rpcctl.daemon.client import MAGIC
from rpcctl.daemon.place import install_key, make_dir
from rpcctl.daemon.preload import changed, preload
from rpcctl.daemon.worker import Request, client_limits, run, same_file_names

MAX_REQUEST = 8 * 1024 * 1024  # bytes: arguments and environment (Linux caps both at ~2 MiB)
REQUEST_TIMEOUT = 2.0  # seconds a connected client has to send its whole request, then its go
MAX_PENDING = 32  # connections still sending their request; more are refused (they run cold)


class Pending:
    """A connection whose request is not complete yet, or that was answered ``ready`` and
    owes its ``go``."""

    __slots__ = ("conn", "data", "deadline", "fds", "limits", "peer", "request")

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.data = bytearray()  # grows in place: a large request is not copied per chunk
        self.fds: list[int] = []
        self.deadline = time.monotonic() + REQUEST_TIMEOUT
        self.request: Request | None = None
        self.peer = 0  # the client's pid (SO_PEERCRED)
        self.limits: dict[int, tuple[int, int]] = {}

    def drop(self, reason: str | None = None) -> None:
        """Close its descriptors and the connection, saying ``no REASON`` first if given."""
        _close_fds(self.fds)
        if reason is not None:
            with contextlib.suppress(OSError):
                self.conn.send(f"no {reason}\n".encode()[:200])
        self.conn.close()


class Daemon:
    """The accept/fork/reap loop on one listening socket."""

    def __init__(self, path: str, idle: float) -> None:
        self.path = path
        self.idle = idle
        self.key = install_key()
        self.stamps: dict[str, int] = {}
        self.selector = selectors.DefaultSelector()
        self.listener: socket.socket | None = None
        self.workers: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, client connection)
        self.pending: list[Pending] = []
        self.inode = 0  # of the socket file this daemon bound: it removes no other's
        self.started = time.time()
        self.last = time.monotonic()
        self.served = 0
        self.stopping = False

    def listen(self) -> None:
        make_dir(os.path.dirname(self.path))
        if os.path.exists(self.path):
            os.unlink(self.path)  # the caller made sure no daemon answers on it
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(old)
        self.inode = os.stat(self.path).st_ino
        listener.listen(64)
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, "accept")

    def serve(self) -> None:
        """Run until idle, stopped or stale; the socket file is removed on the way out."""
        gc.collect()
        gc.freeze()  # the preloaded objects: workers need not copy pages to walk them
        try:
            while not (self.stopping and not self.workers):
                timeout = None if self.workers else max(0.0, self.last + self.idle - time.monotonic())
                if timeout == 0.0 and not self.stopping:
                    break
                if self.pending:
                    soonest = max(0.0, min(p.deadline for p in self.pending) - time.monotonic())
                    timeout = soonest if timeout is None else min(timeout, soonest)
                for key, _ in self.selector.select(timeout):
                    if self.selector.get_map().get(key.fd) is not key:
                        continue  # closed by an earlier event of this round (a reaped worker's client)
                    try:
                        self._dispatch(key)
                    except Exception:  # a bug: log it and keep serving the other workers
                        traceback.print_exc()
                self._expire()
        finally:
            self._close_listener()
            for pending in self.pending:
                pending.drop()

    def _dispatch(self, key: selectors.SelectorKey) -> None:
        if key.data == "accept":
            self._accept()
        elif key.data == "worker":
            self._reap(key.fileobj)  # type: ignore[arg-type]
        elif isinstance(key.data, Pending):
            self._read(key.data)
        else:
            self._client_gone(key.fileobj, key.data)  # type: ignore[arg-type]

    def _close_listener(self) -> None:
        if self.listener is not None:
            self.selector.unregister(self.listener)
            self.listener.close()
            self.listener = None
            with contextlib.suppress(OSError):
                if os.stat(self.path).st_ino == self.inode:
                    os.unlink(self.path)

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        self.last = time.monotonic()
        pending = Pending(conn)
        try:
            pending.peer, uid = _peer(conn)
            if uid != os.getuid():
                raise ValueError("another user")
            if len(self.pending) >= MAX_PENDING:
                raise ValueError("busy")
            conn.setblocking(False)
        except (OSError, ValueError) as exc:
            pending.drop(str(exc))
            return
        self.pending.append(pending)
        self.selector.register(conn, selectors.EVENT_READ, pending)

    def _read(self, pending: Pending) -> None:
        """More of a pending connection's request, or its go: handled once complete."""
        try:
            if pending.request is not None:
                if not pending.conn.recv(16).startswith(b"go"):
                    raise ValueError("no go")  # the client gave up: its command runs there
                self._forget(pending)
                self._launch(pending)
                return
            data, fds, _, _ = socket.recv_fds(pending.conn, 65536, 4)
            pending.fds += fds
            pending.data += data
            if not data:
                raise ValueError("request cut short")
            if len(pending.fds) > 3:
                raise ValueError("too many descriptors")
            size = int.from_bytes(pending.data[:4], "big") if len(pending.data) >= 4 else 0
            if size > MAX_REQUEST:
                raise ValueError("request too large")
            if len(pending.data) < 4 or len(pending.data) < 4 + size:
                return
            request = Request.decode(bytes(pending.data[4 : 4 + size]), MAGIC)
            pending.data.clear()
            self._handle(pending, request)
        except BlockingIOError:
            return
        except (OSError, ValueError) as exc:
            self._forget(pending)
            pending.drop(str(exc))
            if changed(self.stamps):  # perhaps a client of the newer rpcctl now installed
                self.stopping = True
                self._close_listener()

    def _forget(self, pending: Pending) -> None:
        self.pending.remove(pending)
        self.selector.unregister(pending.conn)

    def _expire(self) -> None:
        now = time.monotonic()
        for pending in [p for p in self.pending if p.deadline <= now]:
            self._forget(pending)
            pending.drop("request timed out")

    def _handle(self, pending: Pending, request: Request) -> None:
        """Answer a complete request: status and stop at once, a command with ``ready``."""
        conn = pending.conn
        if request.kind in ("status", "stop"):
            self._forget(pending)
            _close_fds(pending.fds)
            if request.kind == "stop":
                self.stopping = True
                self._close_listener()
            answer = self.status() if request.kind == "status" else f"ok {os.getpid()}"
            with contextlib.suppress(OSError):
                conn.send(answer.encode() + b"\n")
            conn.close()
            return
        if request.kind != "run" or len(pending.fds) != 3:
            raise ValueError("not a command")
        if request.key != self.key:
            raise ValueError("another installation of rpcctl")
        if not same_file_names(request.streams):
            raise ValueError("another file name encoding (locale)")
        pending.limits = client_limits(pending.peer)
        if changed(self.stamps):
            self.stopping = True
            self._close_listener()
            raise ValueError("rpcctl's files changed since the daemon started")
        conn.send(b"ready\n")
        pending.request = request
        pending.deadline = time.monotonic() + REQUEST_TIMEOUT

    def _launch(self, pending: Pending) -> None:
        """Fork the worker for a request whose client said go."""
        conn, request, fds = pending.conn, pending.request, pending.fds
        assert request is not None
        try:
            pid = os.fork()
        except OSError as exc:
            pending.drop(f"cannot fork: {exc.strerror}")
            return
        if pid == 0:
            self._become_worker()
            _work(conn, request, fds, pending.limits)
        _close_fds(fds)
        self.served += 1
        pidfd = os.pidfd_open(pid)
        self.workers[pidfd] = (pid, conn)
        self.selector.register(pidfd, selectors.EVENT_READ, "worker")
        self.selector.register(conn, selectors.EVENT_READ, pid)

    def _become_worker(self) -> None:
        """In the fork: drop every descriptor of the daemon's own."""
        if self.listener is not None:
            self.listener.close()
        for pidfd, (_, other) in self.workers.items():
            os.close(pidfd)
            other.close()
        for pending in self.pending:
            _close_fds(pending.fds)
            pending.conn.close()
        self.selector.close()
        gc.unfreeze()

    def _reap(self, pidfd: int) -> None:
        pid, conn = self.workers.pop(pidfd)
        self.selector.unregister(pidfd)
        if conn.fileno() in self.selector.get_map():
            self.selector.unregister(conn)  # not if the client went first
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        # The worker wrote its own exit line; one killed by a signal could not.
        line = (
            f"signal {os.WTERMSIG(status)}"
            if os.WIFSIGNALED(status)
            else f"exit {os.waitstatus_to_exitcode(status)}"
        )
        with contextlib.suppress(OSError):
            conn.send(f"{line}\n".encode())  # a line: the socket's buffer has room for it
        conn.close()
        self.last = time.monotonic()

    def _client_gone(self, conn: socket.socket, pid: int) -> None:
        try:
            data = conn.recv(64)
        except OSError:
            data = b""
        if not data:
            self.selector.unregister(conn)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
                os.kill(pid, signal.SIGCONT)  # a worker stopped with its client acts on it only then

    def status(self) -> str:
        """``pid=N served=N active=N idle_left=SECONDS uptime=SECONDS``."""
        idle_left = max(0.0, self.last + self.idle - time.monotonic())
        return (
            f"pid={os.getpid()} served={self.served} active={len(self.workers)} "
            f"idle_left={idle_left:.0f} uptime={time.time() - self.started:.0f}"
        )


def _work(
    conn: socket.socket, request: Request, fds: list[int], limits: dict[int, tuple[int, int]]
) -> NoReturn:
    """The worker's life: ``ok PID``, the command, ``exit STATUS``, written by the worker itself
    (its standard descriptors closed first, so the client's readers see their end with it)."""
    code = 70  # EX_SOFTWARE, should the worker itself fail
    try:
        conn.send(f"ok {os.getpid()}\n".encode())  # no client left to hear it: nothing runs
        code = run(request, fds, limits)
    except BaseException as exc:  # the worker must reach os._exit
        with contextlib.suppress(OSError):
            os.write(2, f"error: the rpcctl daemon's worker failed: {exc!r}\n".encode())
    finally:
        for fd in (0, 1, 2):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            conn.send(f"exit {code}\n".encode())
        os._exit(code)


def _peer(conn: socket.socket) -> tuple[int, int]:
    """The connected client's pid and uid (SO_PEERCRED, unix(7))."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    return int.from_bytes(creds[0:4], sys.byteorder), int.from_bytes(creds[4:8], sys.byteorder)


def _close_fds(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    fds.clear()


def main(idle: float, path: str) -> None:
    """The daemon's life: preload, listen on `path`, print ``ok PID`` and serve until `idle`
    seconds pass without a command (or a stop request, or a change of rpcctl's files)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    daemon = Daemon(path, idle)
    daemon.stamps = preload()
    daemon.listen()
    sys.stdout.write(f"ok {os.getpid()}\n")
    sys.stdout.flush()
    daemon.serve()
