"""Misbehaving servers on 127.0.0.1 port 0, scripted byte by byte, each in a thread of its own.

The CLI runs its own event loop (`asyncio.run`), so these peers serve from threads with plain
blocking sockets. Each connection is handed to a `Script`: a function of the accepted socket
that does whatever the misbehaviour is (say nothing, answer HTTP/2 with HTTP/1.1, ...).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

Script = Callable[[socket.socket], None]
POLL = 0.05  # seconds between checks of the stop flag
LIFETIME = 60.0  # no connection is held longer than this, whatever the test does
# RFC 9113 §3.4: the client connection preface, then a SETTINGS frame.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # length 0, type SETTINGS, no flags
SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"


def _drain(conn: socket.socket, stop: threading.Event, first: bytes = b"") -> None:
    """Read and drop what the client sends until it closes, the peer stops, or LIFETIME passes."""
    conn.settimeout(POLL)
    for _ in range(int(LIFETIME / POLL)):
        if stop.is_set():
            return
        try:
            if not conn.recv(65536):
                return
        except TimeoutError:
            continue
        except OSError:
            return


def read_some(conn: socket.socket, size: int, limit: float = 5.0) -> bytes:
    """Up to `size` bytes, waiting at most `limit` seconds in all."""
    conn.settimeout(limit)
    data = b""
    with contextlib.suppress(OSError):
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                break
            data += chunk
    return data


def silent_after_settings(stop: threading.Event) -> Script:
    """An HTTP/2 server that sends its SETTINGS (and acks the client's), then never another byte."""

    def script(conn: socket.socket) -> None:
        read_some(conn, len(H2_PREFACE))
        conn.sendall(EMPTY_SETTINGS + SETTINGS_ACK)
        _drain(conn, stop)

    return script


def http1_answer(stop: threading.Event) -> Script:
    """A server that answers whatever comes (the HTTP/2 preface too) with an HTTP/1.1 400, and
    then keeps the connection open, so only the answer's content can tell the client."""

    def script(conn: socket.socket) -> None:
        read_some(conn, 1)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\r\nno\n")
        _drain(conn, stop)

    return script


def http2_only(stop: threading.Event) -> Script:
    """An h2c-only server as an HTTP/1.1 client meets it: SETTINGS in answer to anything, then
    silence (it waits for a preface that never comes)."""

    def script(conn: socket.socket) -> None:
        read_some(conn, 1)
        conn.sendall(EMPTY_SETTINGS)
        _drain(conn, stop)

    return script


@contextlib.contextmanager
def serving(make: Callable[[threading.Event], Script]) -> Iterator[int]:
    """Serve `make(stop)` on a fresh loopback port until the block ends; yields the port."""
    stop = threading.Event()
    script = make(stop)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(POLL)
    workers: list[threading.Thread] = []

    def accept() -> None:
        for _ in range(int(LIFETIME / POLL)):
            if stop.is_set():
                return
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return

            def handle(conn: socket.socket = conn) -> None:
                with conn, contextlib.suppress(OSError):
                    script(conn)

            worker = threading.Thread(target=handle, daemon=True)
            workers.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        acceptor.join(timeout=5)
        listener.close()
        for worker in workers:
            worker.join(timeout=5)
