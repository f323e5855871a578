"""The daemon process: imports the call path once, then forks a worker per command.

`rpcctl daemon start` runs rpcctl again, detached, with $_RPCCTL_DAEMON_SERVE set (see
`rpcctl.daemon.launch`), and that process calls `main`. One thread, one `selectors` loop over: the listening
socket; each worker's pidfd (pidfd_open(2)), readable when it has ended; and each client's
connection, readable when the client has gone (then its worker gets SIGTERM). The daemon ends
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

from rpcctl.daemon.client import MAGIC
from rpcctl.daemon.place import install_key, make_dir
from rpcctl.daemon.preload import changed, preload
from rpcctl.daemon.worker import Request, run

MAX_REQUEST = 8 * 1024 * 1024  # bytes: arguments and environment (Linux caps both at ~2 MiB)
REQUEST_TIMEOUT = 2.0  # seconds a connected client has to send its whole request


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
                for key, _ in self.selector.select(timeout):
                    try:
                        self._dispatch(key)
                    except Exception:  # a bug: log it and keep serving the other workers
                        traceback.print_exc()
        finally:
            self._close_listener()

    def _dispatch(self, key: selectors.SelectorKey) -> None:
        if key.data == "accept":
            self._accept()
        elif key.data == "worker":
            self._reap(key.fileobj)  # type: ignore[arg-type]
        else:
            self._client_gone(key.fileobj, key.data)  # type: ignore[arg-type]

    def _close_listener(self) -> None:
        if self.listener is not None:
            self.selector.unregister(self.listener)
            self.listener.close()
            self.listener = None
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        self.last = time.monotonic()
        fds: list[int] = []
        try:
            conn.settimeout(REQUEST_TIMEOUT)
            if not self._same_user(conn):
                raise ValueError("another user")
            body, fds = _receive(conn)
            request = Request.decode(body, MAGIC)
            self._handle(conn, request, fds)
        except (OSError, ValueError) as exc:
            _close_fds(fds)
            with contextlib.suppress(OSError):
                conn.sendall(f"no {exc}\n".encode()[:200])
            conn.close()

    def _same_user(self, conn: socket.socket) -> bool:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        return int.from_bytes(creds[4:8], sys.byteorder) == os.getuid()

    def _handle(self, conn: socket.socket, request: Request, fds: list[int]) -> None:
        if request.kind == "status":
            conn.sendall(self.status().encode() + b"\n")
            conn.close()
            return
        if request.kind == "stop":
            self.stopping = True
            self._close_listener()
            conn.sendall(f"ok {os.getpid()}\n".encode())
            conn.close()
            return
        if request.kind != "run" or len(fds) != 3:
            raise ValueError("not a command")
        if request.key != self.key:
            raise ValueError("another installation of rpcctl")
        if changed(self.stamps):
            self.stopping = True
            self._close_listener()
            raise ValueError("rpcctl's files changed since the daemon started")
        pid = os.fork()
        if pid == 0:
            code = 70  # EX_SOFTWARE, should the worker itself fail
            try:
                self._become_worker(conn)
                code = run(request, fds)
            finally:
                os._exit(code)
        _close_fds(fds)
        self.served += 1
        conn.settimeout(None)
        conn.sendall(f"ok {pid}\n".encode())
        pidfd = os.pidfd_open(pid)
        self.workers[pidfd] = (pid, conn)
        self.selector.register(pidfd, selectors.EVENT_READ, "worker")
        self.selector.register(conn, selectors.EVENT_READ, pid)

    def _become_worker(self, conn: socket.socket) -> None:
        """In the fork: drop every descriptor of the daemon's own."""
        if self.listener is not None:
            self.listener.close()
        for pidfd, (_, other) in self.workers.items():
            os.close(pidfd)
            other.close()
        conn.close()
        self.selector.close()
        gc.unfreeze()

    def _reap(self, pidfd: int) -> None:
        pid, conn = self.workers.pop(pidfd)
        self.selector.unregister(pidfd)
        if conn.fileno() in self.selector.get_map():
            self.selector.unregister(conn)  # not if the client went first
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        code = code if code >= 0 else 128 - code  # a signal, as a shell reports it
        with contextlib.suppress(OSError):
            conn.sendall(f"exit {code}\n".encode())
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

    def status(self) -> str:
        """``pid=N served=N running=N idle_left=SECONDS uptime=SECONDS``."""
        idle_left = max(0.0, self.last + self.idle - time.monotonic())
        return (
            f"pid={os.getpid()} served={self.served} running={len(self.workers)} "
            f"idle_left={idle_left:.0f} uptime={time.time() - self.started:.0f}"
        )


def _receive(conn: socket.socket) -> tuple[bytes, list[int]]:
    """The request body and the descriptors that came with it. ValueError past MAX_REQUEST."""
    data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
    fds = list(fds)
    while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
        if len(data) >= 4 and int.from_bytes(data[:4], "big") > MAX_REQUEST:
            _close_fds(fds)
            raise ValueError("request too large")
        chunk = conn.recv(65536)
        if not chunk:
            _close_fds(fds)
            raise ValueError("request cut short")
        data += chunk
    return data[4:], fds


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
