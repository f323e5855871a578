"""rpcctl's HTTP/1.1 client: a keep-alive pool of connections, one request in flight on each.

Two ways in, over the same connections and parser (`rpcctl.transport.h1_parser`):

- `H1Pool.open` starts an `H1Exchange` (the `Exchange` seam of `rpcctl.transport.exchange`):
  a whole or chunked-streamed request body, the response head and body read incrementally,
  chunked trailers. Every call kind of Connect and gRPC-Web over HTTP/1.1 goes through it.
- `H1Pool.request` sends prebuilt request bytes (`build_request`) and returns the whole
  `Response` (`rpcctl.transport.whole_response`): `rpcctl bench`'s unary hot path, a few tens
  of µs of client CPU per request.

Every part of a response is bounded (`Limits`), so a bad server ends a call with an error
instead of a hang or an unbounded buffer. While an exchange waits for response bytes, a silence
of ``idle_timeout`` seconds fails it; the default, `DEFAULT_IDLE_READ_TIMEOUT` (60 s), is long
because rpcctl is a debugging tool: a server that thinks for tens of seconds before answering
(or between stream messages) must still be observable, yet a dead peer behind a silent
middlebox must not hang a call without a deadline forever. Pass None to wait without bound.

Errors are rpcctl's own: `TransportError` when no connection can be made, `RpcError`
UNAVAILABLE when one breaks or the server's bytes are not HTTP/1.1, and `WrongHttpVersion`
(an `RpcError`) when the server plainly speaks HTTP/2 only or TLS, naming the option to use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rpcctl.errors import RpcError, TransportError
from rpcctl.protocols.exchange import RequestHead
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.exchange import ExchangeTimings
from rpcctl.transport.h1_connection import ConnectionLost, H1Connection, WrongHttpVersion, response_error
from rpcctl.transport.h1_exchange import H1Exchange
from rpcctl.transport.h1_parser import BadResponse, Limits
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.transport.whole_response import Response

__all__ = [
    "DEFAULT_IDLE_READ_TIMEOUT",
    "BadResponse",
    "H1Exchange",
    "H1Pool",
    "Limits",
    "WrongHttpVersion",
    "build_request",
]

DEFAULT_IDLE_READ_TIMEOUT = 60.0  # seconds without a response byte (see the module docstring)
# Framing headers the client writes itself; a caller's copy would contradict them.
OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
BODILESS_METHODS = frozenset({"GET", "HEAD"})
CLOSE_WAIT = 0.05  # seconds `aclose` waits for sockets to close before aborting them
CLOSE_POLLS = 20


def _head_bytes(method: str, path: str, host: str, headers: Iterable[tuple[str, str]], extra: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}"]
    for name, value in headers:
        # RFC 9110 §5.5: CR, LF and NUL never appear in a field; here they would inject one.
        if any(c in name or c in value for c in "\r\n\0"):
            raise ValueError(f"invalid header {name!r}")
        lines.append(f"{name}: {value}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def build_request(
    method: str, path: str, host: str, headers: Iterable[tuple[str, str]], body: bytes
) -> bytes:
    """The bytes of one request: request line, Host, headers, content-length, body."""
    length = f"content-length: {len(body)}" if body or method != "GET" else ""
    return _head_bytes(method, path, host, headers, length) + body


class _Collector:
    """Gathers one whole response for `H1Pool.request`."""

    __slots__ = ("future", "headers", "make", "parts", "status")

    def __init__(self, future: asyncio.Future[Response], make: type[Response]) -> None:
        self.future = future
        self.make = make
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.parts: list[bytes] = []

    def on_bytes(self) -> None:
        """Nothing to note."""

    def on_head(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """Keep the head."""
        self.status, self.headers = status, headers

    def on_data(self, data: bytes) -> None:
        """Keep a body piece."""
        self.parts.append(data)

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        """Complete the future."""
        parts = self.parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        if not self.future.done():
            self.future.set_result(self.make(self.status, self.headers, body))

    def on_error(self, exc: Exception) -> None:
        """Fail the future."""
        if not self.future.done():
            self.future.set_exception(exc)


class H1Pool:
    """Keep-alive connections to one server, one request in flight on each.

    `open` and `request` take an idle connection or open one (so N concurrent requests use N
    connections), and put it back after a complete response the server did not ask to close.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        limits: Limits | None = None,
        idle_timeout: float | None = DEFAULT_IDLE_READ_TIMEOUT,
    ) -> None:
        self.endpoint = endpoint
        self.address = endpoint.address
        self.limits = limits or Limits()
        self.idle_timeout = idle_timeout
        self.connections_opened = 0
        self._idle: list[H1Connection] = []
        self._all: set[H1Connection] = set()
        self._closed = False
        self._whole: type[Response] | None = None  # `request`'s record, loaded at its first use

    async def open(self, head: RequestHead, *, host: str, body: bytes | None) -> H1Exchange:
        """Start a request: ``body`` is the whole body, or None to stream it chunked.

        A request with a whole body, sent on a reused connection that the server had closed
        before answering a byte (its keep-alive ended), is sent once more on a new connection;
        a streamed one cannot be, its body is gone.
        """
        if body is None and head.method in BODILESS_METHODS:
            body = b""
        headers = [(k, v) for k, v in head.headers if k not in OWN_HEADERS]
        if body is None:
            framing = "transfer-encoding: chunked"
        else:
            framing = f"content-length: {len(body)}" if body or head.method != "GET" else ""
        try:
            request = _head_bytes(head.method, head.path, host, headers, framing)
        except ValueError as exc:
            raise RpcError(Code.INTERNAL, f"cannot send the request: {exc}") from None
        timings = ExchangeTimings()
        conn = self._take_idle()
        reused = conn is not None
        if conn is None:
            conn = await self._connect(timings)
        exchange = H1Exchange(self, conn, reused=reused, timings=timings, idle_timeout=self.idle_timeout)
        if body is None:
            exchange.send_head(request)
        else:
            exchange.send_whole(request + body)
        return exchange

    async def request(self, data: bytes) -> Response:
        """Send one prebuilt request and return its whole response.

        A request on a reused connection that the server closed before answering a single
        byte (its keep-alive ended) is sent once more on a new connection.
        """
        conn = self._take_idle()
        reused = conn is not None
        if conn is None:
            conn = await self._connect(None)
        try:
            response = await self._exchange(conn, data)
        except ConnectionLost as exc:
            if not (reused and conn.received == 0):
                raise self._broken(str(exc)) from None
            conn = await self._connect(None)
            try:
                response = await self._exchange(conn, data)
            except ConnectionLost as again:
                raise self._broken(str(again)) from None
        conn.release()
        self._give_back(conn)
        return response

    async def _exchange(self, conn: H1Connection, data: bytes) -> Response:
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        make = self._whole
        if make is None:
            from rpcctl.transport.whole_response import Response

            make = self._whole = Response
        conn.start(_Collector(future, make), self.limits.max_body)
        conn.write(data)
        try:
            return await future
        except BadResponse as exc:
            self._forget(conn)
            raise response_error(self.address, exc) from None
        except ConnectionLost:
            self._forget(conn)
            raise
        except BaseException:  # cancelled (deadline): the response is still coming
            self._forget(conn)
            raise

    def _take_idle(self) -> H1Connection | None:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.reusable and not conn.closed:
                return conn
            self._forget(conn)
        return None

    def _give_back(self, conn: H1Connection) -> None:
        """Keep a released connection for the next request, or close it."""
        if conn.reusable and not conn.closed and not self._closed:
            self._idle.append(conn)
        else:
            self._forget(conn)

    def _forget(self, conn: H1Connection) -> None:
        conn.close()
        self._all.discard(conn)

    def _broken(self, reason: str) -> RpcError:
        return RpcError(Code.UNAVAILABLE, f"connection to {self.address} broke: {reason}")

    async def _connect(self, timings: ExchangeTimings | None) -> H1Connection:
        """A new connection; its connect (and TLS) milestones go to ``timings``."""
        if self._closed:
            raise TransportError(f"connection pool to {self.address} is closed")

        def factory() -> H1Connection:
            return H1Connection(self.limits, self.address)

        _, conn = await self.endpoint.connect(factory, timings=timings)
        self.connections_opened += 1
        self._all.add(conn)
        if self._closed:  # closed while connecting
            self._forget(conn)
            raise TransportError(f"connection pool to {self.address} is closed")
        return conn

    async def aclose(self) -> None:
        """Close every connection."""
        self._closed = True
        conns = list(self._all)
        for conn in conns:
            conn.close()
        self._all.clear()
        self._idle.clear()
        # TLS sockets close after the close_notify exchange; a client need not wait for the
        # server's (RFC 8446 §6.1): wait briefly, then abort what is still open, so that a loop
        # ending right after leaves no socket behind.
        for _ in range(CLOSE_POLLS):
            await asyncio.sleep(0 if _ == 0 else CLOSE_WAIT / CLOSE_POLLS)
            if all(conn.closed or conn.transport is None for conn in conns):
                return
        for conn in conns:
            if not conn.closed and conn.transport is not None:
                conn.transport.abort()
        await asyncio.sleep(0)
