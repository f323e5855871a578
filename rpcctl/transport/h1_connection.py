"""One HTTP/1.1 client connection: an asyncio protocol that feeds `ResponseParser`.

The connection carries one request at a time (no pipelining, RFC 9112 §9.3.2). What the
parser finds goes to the current `ConnectionSink` (a streaming exchange, or the collector of
a whole unary response); bytes nobody asked for make the connection untrustworthy, so it is
closed. Writing waits while the socket's buffer is full (`drain`), and reading can be paused
by the sink, so memory stays bounded both ways.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from rpcctl.errors import RpcError
from rpcctl.transport.endpoint import socket_reason
from rpcctl.transport.h1_parser import BadResponse, Limits, NotHttp1, ResponseParser, ResponseSink
from rpcctl.wire.status import Code


class ConnectionLost(Exception):
    """The connection closed before the response was whole."""


class WrongHttpVersion(RpcError):
    """The server does not speak HTTP/1.1 here: ``speaks`` is ``"h2c"`` or ``"tls"``.

    The message names the option that works; a pool may recognise it and switch.
    """

    def __init__(self, address: str, speaks: str) -> None:
        if speaks == "h2c":
            message = f"{address} speaks only HTTP/2 (h2c): use --http2"
        else:
            message = f"{address} expects TLS: use https://"
        super().__init__(Code.UNAVAILABLE, message)
        self.speaks = speaks


def response_error(address: str, exc: Exception, *, unanswered_first: bool = False) -> RpcError:
    """The `RpcError` for a parser or connection failure on ``address``.

    ``unanswered_first``: the connection closed without a byte in answer to its first request,
    which is what a TLS-only server does with plaintext (it closes, no alert), so say so.
    """
    if isinstance(exc, ConnectionLost) and unanswered_first:
        return RpcError(
            Code.UNAVAILABLE,
            f"connection to {address} broke: {exc}, before any answer (if it expects TLS: use https://)",
        )
    if isinstance(exc, NotHttp1):
        return WrongHttpVersion(address, exc.speaks)
    if isinstance(exc, BadResponse):
        return RpcError(exc.code, f"bad HTTP/1.1 response from {address}: {exc}")
    if isinstance(exc, RpcError):
        return exc
    return RpcError(Code.UNAVAILABLE, f"connection to {address} broke: {exc}")


class ConnectionSink(ResponseSink, Protocol):
    """What a connection reports to the exchange it carries, besides the parser's events."""

    def on_bytes(self) -> None:
        """Response bytes arrived (before they are parsed)."""

    def on_error(self, exc: Exception) -> None:
        """The response failed: `BadResponse` or `ConnectionLost`; the connection is closed."""


class H1Connection(asyncio.Protocol):
    """One HTTP/1.1 connection to a server."""

    def __init__(self, limits: Limits, address: str) -> None:
        self.limits = limits
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = True
        self.used = False
        self.requests = 0  # requests started on this connection
        self.sink: ConnectionSink | None = None
        self.parser = ResponseParser(limits, _NO_SINK)
        self.failed = False  # the sink was told the response failed
        self._read_paused = False
        self._write_paused = False
        self._write_waiters: list[asyncio.Future[None]] = []
        self._loop = asyncio.get_running_loop()
        self.last_received = self._loop.time()

    @property
    def received(self) -> int:
        """Response bytes received for the request in flight."""
        return self.parser.received

    def start(self, sink: ConnectionSink, max_body: int | None) -> None:
        """Expect the response to a new request, delivered to ``sink``."""
        self.sink = sink
        self.used = True
        self.requests += 1
        self.failed = False
        self.parser.reset(sink, max_body)

    def release(self) -> None:
        """The exchange is done with the connection."""
        self.sink = None
        self.parser.sink = _NO_SINK
        if not self.parser.done or not self.parser.keep_alive:
            self.reusable = False
        self.resume_reading()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        """Parse what arrived for the exchange in flight."""
        sink = self.sink
        if sink is None or self.parser.done:
            self._abort()  # bytes nobody asked for: the connection cannot be trusted
            return
        self.last_received = self._loop.time()
        sink.on_bytes()
        try:
            extra = self.parser.feed(data)
        except BadResponse as exc:
            self._abort()
            self._fail(sink, exc)
            return
        if extra:  # more bytes than one response
            self._abort()

    def eof_received(self) -> bool | None:
        """A body read until close ends here; anything else in flight is a broken call."""
        self.reusable = False
        self._end_of_input(None)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail the exchange in flight, if any, and wake writers."""
        self.closed = True
        self.reusable = False
        self._wake_writers()
        self._end_of_input(exc)

    def pause_writing(self) -> None:
        """The socket buffer is full: writers wait in `drain`."""
        self._write_paused = True

    def resume_writing(self) -> None:
        """The socket buffer drained: wake the writers."""
        self._write_paused = False
        self._wake_writers()

    # the client side

    def write(self, data: bytes) -> bool:
        """Send bytes; False (and nothing sent) once the connection is closing."""
        transport = self.transport
        if transport is None or self.closed or transport.is_closing():
            return False
        transport.write(data)
        return True

    async def drain(self) -> None:
        """Wait until the socket takes more bytes (or the connection closed)."""
        while self._write_paused and not self.closed:
            waiter = self._loop.create_future()
            self._write_waiters.append(waiter)
            await waiter

    def pause_reading(self) -> None:
        """Stop reading from the socket (the reader is behind)."""
        if self.transport is not None and not self.closed and not self._read_paused:
            self._read_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        """Read from the socket again."""
        if self.transport is not None and not self.closed and self._read_paused:
            self._read_paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        """Close the connection (aborting a request in flight)."""
        self.reusable = False
        if self.transport is not None and not self.closed:
            self.transport.abort()

    # internals

    def _end_of_input(self, exc: Exception | None) -> None:
        sink = self.sink
        if sink is None or self.parser.done or self.failed:
            return
        try:
            if exc is None and self.parser.feed_eof():
                return
        except BadResponse as bad:
            self._fail(sink, bad)
            return
        reason = socket_reason(exc) if exc is not None else "the server closed the connection"
        self._fail(sink, ConnectionLost(reason))

    def _fail(self, sink: ConnectionSink, exc: Exception) -> None:
        self.failed = True
        self.reusable = False
        sink.on_error(exc)

    def _wake_writers(self) -> None:
        waiters, self._write_waiters = self._write_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _abort(self) -> None:
        self.close()


class _NoSink:
    """Where the parser reports while no exchange is in flight (never reached: no bytes fed)."""

    def on_head(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """Ignore."""

    def on_data(self, data: bytes) -> None:
        """Ignore."""

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        """Ignore."""


_NO_SINK = _NoSink()
