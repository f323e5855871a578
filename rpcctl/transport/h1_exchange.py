"""One HTTP/1.1 request and its response as an `Exchange` (rpcctl.transport.exchange).

A whole body goes out with a content-length (RFC 9112 §6.2; none for a bodiless GET); a
streamed body goes out chunked (RFC 9112 §7.1), one chunk per `write`, the last chunk on
`end`. The response may start before the request body ends (a server that rejects early):
`response` and `read` work then, later writes are dropped, and the connection is not reused,
since the server never read the rest of the request.

Body chunks are queued as they arrive and handed out by `read`; past `READ_BUFFER_HIGH` bytes
queued unread the socket is paused, and resumed below `READ_BUFFER_LOW`, so a slow reader of a
long stream holds a bounded amount. While a caller waits for response bytes, a silence of
``idle_timeout`` seconds fails the exchange (`H1Pool` documents the default).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from rpcctl.errors import RpcError, TransportError
from rpcctl.transport.exchange import ExchangeTimings
from rpcctl.transport.h1_connection import ConnectionLost, H1Connection, response_error
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.transport.lean_h1 import H1Pool

READ_BUFFER_HIGH = 256 * 1024  # queued unread bytes above which the socket is paused
READ_BUFFER_LOW = 64 * 1024  # ... and below which it is resumed
LAST_CHUNK = b"0\r\n\r\n"
# Field blocks whose `Metadata` is remembered (servers answer with few distinct ones; a
# ``date`` field makes a new one each second), and the largest block remembered, in fields.
METADATA_CACHED = 64
METADATA_CACHED_FIELDS = 32
_metadata_cache: dict[tuple[tuple[bytes, bytes], ...], Metadata] = {}


def _pairs(fields: list[tuple[bytes, bytes]]) -> Metadata:
    """Received fields as `Metadata` (a copy of its own: callers may change it)."""
    if not fields:
        return Metadata()
    if len(fields) > METADATA_CACHED_FIELDS:
        return _parse(fields)
    key = tuple(fields)
    parsed = _metadata_cache.get(key)
    if parsed is None:
        parsed = _parse(fields)
        if len(_metadata_cache) >= METADATA_CACHED:
            _metadata_cache.clear()
        _metadata_cache[key] = parsed
    return parsed.copy()


def _parse(fields: list[tuple[bytes, bytes]]) -> Metadata:
    return Metadata.from_wire_pairs((k.decode("latin-1"), v.decode("latin-1")) for k, v in fields)


class H1Exchange:
    """An HTTP/1.1 request in flight on one pooled connection, its body possibly streaming."""

    http_version = "HTTP/1.1"

    def __init__(
        self,
        pool: H1Pool,
        conn: H1Connection,
        *,
        reused: bool,
        timings: ExchangeTimings,
        idle_timeout: float | None,
    ) -> None:
        self.timings = timings
        self.peak_buffered = 0  # the most body bytes ever queued unread (for tests and stats)
        self._pool = pool
        self._conn = conn
        self._reused = reused
        self._idle_timeout = idle_timeout
        # The connection's loop: `asyncio.get_running_loop` costs a getpid() system call.
        self._loop = conn._loop
        self._head: tuple[int, Metadata] | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._trailers = Metadata()
        self._ended = False  # the response is complete
        self._error: RpcError | TransportError | None = None
        self._request_ended = False
        self._released = False
        self._resend: bytes | None = None  # the whole request, for one retry on a new connection
        self._retry = False
        self._waiter: asyncio.Future[None] | None = None
        self._idle_handle: asyncio.TimerHandle | None = None
        self._wait_start = 0.0

    def send_whole(self, request: bytes) -> None:
        """Send the head and whole body; the request may be resent once (see `H1Pool.open`)."""
        self._request_ended = True
        self._resend = request
        self._conn.start(self, None)
        self._conn.write(request)
        self.timings.request_sent = self._loop.time()

    def send_head(self, head: bytes) -> None:
        """Send the head of a chunked request; the body follows through `write` and `end`."""
        self._conn.start(self, None)
        self._conn.write(head)

    # the Exchange protocol

    async def write(self, data: bytes) -> None:
        """Send one chunk, waiting while the socket is full; dropped once the response ended."""
        if not data or self._request_ended or self._ended or self._error is not None:
            return  # an empty chunk would end the body
        conn = self._conn
        if conn.write(b"%x\r\n%b\r\n" % (len(data), data)):
            await conn.drain()

    @property
    def send_closed(self) -> bool:
        """Whether `write` would drop its bytes (the body ended, the response ended or failed)."""
        return self._request_ended or self._ended or self._error is not None

    async def end(self) -> None:
        """Send the last chunk (nothing when the body was whole or the response ended)."""
        if self._request_ended:
            return
        self._request_ended = True
        if not self._ended and self._error is None and self._conn.write(LAST_CHUNK):
            self.timings.request_sent = self._loop.time()

    async def response(self) -> tuple[int, Metadata]:
        """The final response status and headers, waiting for them."""
        while self._head is None:
            if self._error is not None:
                raise self._error
            if self._retry:
                await self._resend_on_new_connection()
                continue
            await self._wait()
        return self._head

    async def read(self) -> bytes | None:
        """The next body chunk as it arrived, or None at the end of the body."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._buffered <= READ_BUFFER_LOW and not self._released:
                    self._conn.resume_reading()
                return chunk
            if self._error is not None:
                raise self._error
            if self._ended:
                return None
            if self._retry:
                await self._resend_on_new_connection()
                continue
            await self._wait()

    @property
    def trailers(self) -> Metadata:
        """The chunked trailer fields; empty until the body ended, or when there were none."""
        return self._trailers

    async def aclose(self) -> None:
        """Release the connection: back to the pool when the exchange is done, else closed."""
        if not self._released:
            self._released = True
            self._conn.reusable = False
            self._conn.release()
            self._pool._give_back(self._conn)
        if self._error is None and not self._ended:
            self._error = RpcError(Code.CANCELLED, "the exchange was closed")
            self._chunks.clear()
            self._buffered = 0
        self._stop_idle_timer()
        self._wake()

    # ConnectionSink, called by the connection as bytes arrive

    def on_bytes(self) -> None:
        """Note the first response byte."""
        if self.timings.first_byte is None:
            self.timings.first_byte = self._loop.time()

    def on_head(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """Keep the response head."""
        self._head = (status, _pairs(headers))
        self._wake()

    def on_data(self, data: bytes) -> None:
        """Queue a body chunk; pause the socket when too much is unread."""
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > self.peak_buffered:
            self.peak_buffered = self._buffered
        if self._buffered > READ_BUFFER_HIGH:
            self._conn.pause_reading()
        self._wake()

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        """The response is complete: the connection goes back to the pool if it can."""
        self._trailers = _pairs(trailers)
        self._ended = True
        self._stop_idle_timer()
        self.timings.ended = self._loop.time()
        if not self._request_ended:
            self._conn.reusable = False  # the server did not read the rest of the request
        self._released = True
        self._conn.release()
        self._pool._give_back(self._conn)
        self._wake()

    def on_error(self, exc: Exception) -> None:
        """The response failed; a reused connection the server had closed is retried once."""
        self._stop_idle_timer()
        conn = self._conn
        self._released = True
        conn.release()
        self._pool._give_back(conn)
        if (
            isinstance(exc, ConnectionLost)
            and self._reused
            and self._resend is not None
            and conn.received == 0
        ):
            self._retry = True
        else:
            first = conn.requests == 1 and conn.received == 0
            self._error = response_error(self._pool.address, exc, unanswered_first=first)
        self._wake()

    # internals

    async def _resend_on_new_connection(self) -> None:
        self._retry = False
        self._reused = False  # only once
        assert self._resend is not None  # set whenever a retry is allowed
        try:
            self._conn = await self._pool._connect(self.timings)
        except (TransportError, RpcError) as exc:
            self._error = exc  # every later call sees it too
            raise
        self._released = False
        self.send_whole(self._resend)

    async def _wait(self) -> None:
        """Wait for the connection to report, failing after ``idle_timeout`` s of silence."""
        self._waiter = waiter = self._loop.create_future()
        if self._idle_timeout is not None:
            self._wait_start = self._loop.time()
            # One timer serves every wait of the exchange (it measures the silence from this
            # wait's start when it fires); it ends with the exchange.
            if self._idle_handle is None:
                self._idle_handle = self._loop.call_later(self._idle_timeout, self._check_idle)
        try:
            await waiter
        finally:
            self._waiter = None

    def _stop_idle_timer(self) -> None:
        handle = self._idle_handle
        if handle is not None:
            handle.cancel()
            self._idle_handle = None

    def _check_idle(self) -> None:
        assert self._idle_timeout is not None  # only scheduled with one
        self._idle_handle = None
        if self._waiter is None or self._ended or self._error is not None:
            return  # nobody waits now: the next wait starts the timer again
        quiet = self._loop.time() - max(self._wait_start, self._conn.last_received)
        if quiet < self._idle_timeout * 0.999:  # bytes came meanwhile: wait for the rest
            self._idle_handle = self._loop.call_later(self._idle_timeout - quiet, self._check_idle)
            return
        seconds = f"{self._idle_timeout:g}"
        self._error = RpcError(
            Code.UNAVAILABLE, f"no response bytes from {self._pool.address} for {seconds} s"
        )
        if not self._released:
            self._released = True
            self._conn.close()
            self._conn.release()
            self._pool._give_back(self._conn)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
