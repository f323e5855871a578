"""`H2Exchange`: one HTTP/2 request and its response, full duplex (the `Exchange` seam over HTTP/2).

Writing and reading are independent: `write` waits only for the send windows (stream and
connection, RFC 9113 §6.9), the socket's buffer and a free stream slot
(SETTINGS_MAX_CONCURRENT_STREAMS), never for the response; the response head and each body
chunk can be read as soon as they arrive. Chunks wait in a queue for `read`, which returns
their bytes to the server's window only as it takes them: what is buffered here is bounded by
the stream window we announced, and a reader that falls behind throttles the server.

An exchange whose whole body was given up front is sent once more on a new connection when
the server refuses it unprocessed (GOAWAY above its stream, `NotSent`); a streamed body is not
kept, so its `NotSent` (an UNAVAILABLE `RpcError`) reaches the caller.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from rpcctl.errors import RpcError
from rpcctl.transport.exchange import ExchangeTimings
from rpcctl.transport.h2_stream import H2Stream, NotSent
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from rpcctl.transport.h2_conn import H2Conn

    Reconnect = Callable[[], Awaitable[H2Conn]]


# Header blocks whose `Metadata` is remembered (servers answer with few distinct ones), and
# the largest block remembered, in fields.
METADATA_CACHED = 64
METADATA_CACHED_FIELDS = 32
_metadata_cache: dict[tuple[tuple[bytes, bytes], ...], Metadata] = {}


def header_metadata(headers: list[tuple[bytes, bytes]]) -> Metadata:
    """A received header list as `Metadata` (a copy of its own: callers may change it).

    HPACK hands back the same bytes objects for a repeated block, so the key hashes cheaply;
    parsing it again (names, ``-bin`` values) was a tenth of a `Channel.open` call's CPU.
    """
    if len(headers) > METADATA_CACHED_FIELDS:
        return Metadata.from_header_bytes(headers)
    key = tuple(headers)
    parsed = _metadata_cache.get(key)
    if parsed is None:
        parsed = Metadata.from_header_bytes(headers)
        if len(_metadata_cache) >= METADATA_CACHED:
            _metadata_cache.clear()
        _metadata_cache[key] = parsed
    return parsed.copy()


class H2Exchange(H2Stream):
    """One request and response on an HTTP/2 connection; implements `Exchange`."""

    __slots__ = ("_chunks", "_closed", "_ended", "_error", "_meta", "_reader", "_reconnect", "_retried",
                 "_send_done", "_wake", "_whole", "body_open", "timings")  # fmt: skip

    streamed = True
    http_version = "HTTP/2"

    def __init__(
        self, conn: H2Conn, headers: list[tuple[bytes, bytes]], body: bytes | None, reconnect: Reconnect
    ) -> None:
        super().__init__(conn, headers, body or b"", conn._loop.create_future())
        self.timings = ExchangeTimings()
        self.body_open = body is None  # the request body streams through `write`
        self._whole = body
        self._reconnect = reconnect
        self._retried = False
        self._chunks: deque[bytes] = deque()
        self._ended = False  # the response is complete
        self._error: RpcError | None = None
        self._send_done = False  # the stream ended or was reset: writes are dropped
        self._closed = False
        self._meta: Metadata | None = None
        self._reader: asyncio.Future[None] | None = None
        self._wake: asyncio.Future[None] | None = None

    # Exchange

    async def write(self, data: bytes) -> None:
        """Send request body bytes, waiting while flow control or the socket holds them back."""
        view = memoryview(data)
        while view:
            if self._send_done or not self.body_open:
                return
            if self.stream_id:
                sent = self.conn.send_data(self, view)
                if sent:
                    view = view[sent:]
                    continue
                if self.conn._streams.get(self.stream_id) is not self:
                    return  # ended meanwhile
            await self._writable()

    @property
    def send_closed(self) -> bool:
        """Whether `write` would drop its bytes (the body ended, the stream ended or was reset)."""
        return self._send_done or not self.body_open

    async def end(self) -> None:
        """End the request body (END_STREAM)."""
        while self.body_open and not self._send_done:
            if self.stream_id:
                self.conn.end_stream(self)
                return
            await self._writable()

    async def response(self) -> tuple[int, Metadata]:
        """The final (non-1xx) response status and headers, waiting for them."""
        while True:
            waiter = self.waiter
            if not waiter.done():
                # Shielded, not awaited directly: a cancelled caller must not cancel it. (Lighter
                # than `asyncio.wait`, a few µs per call on the `Channel.open` path.)
                try:
                    await asyncio.shield(waiter)
                except BaseException:
                    if not waiter.done():
                        raise  # the caller was cancelled
                    # the stream failed: its error is read below
            error = waiter.exception()
            if error is None:
                if self._meta is None:
                    self._meta = header_metadata(self.headers)
                return self.status, self._meta
            if (
                isinstance(error, NotSent)
                and self._whole is not None
                and not self._retried
                and not self._closed
            ):
                await self._retry()
                continue
            raise error

    async def read(self) -> bytes | None:
        """The next body chunk, or None at the end; its bytes go back to the server's window."""
        if self.status == 0:
            await self.response()
        while True:
            if self._error is not None:
                raise self._error
            chunks = self._chunks
            if chunks:
                chunk = chunks.popleft()
                self.size -= len(chunk)
                self.conn.consumed(self, len(chunk))
                return chunk
            if self._ended:
                return None
            self._reader = reader = self.conn._loop.create_future()
            try:
                await reader
            finally:
                self._reader = None

    @property
    def trailers(self) -> Metadata:
        """The trailing HEADERS (complete once `read` returned None)."""
        return header_metadata(self.raw_trailers)

    async def aclose(self) -> None:
        """Release the exchange; one that has not finished is reset with CANCEL."""
        if self._closed:
            return
        self._closed = True
        if not self._ended and self._error is None:
            self.conn.abandon(self)
            self.fail(RpcError(Code.CANCELLED, "stream closed by the client"))
        else:
            self._release()

    # hooks the connection calls

    def on_started(self, request_ended: bool) -> None:
        """The stream got its id and its HEADERS are queued."""
        if request_ended:
            self.timings.request_sent = self.conn._loop.time()
        self.wake()

    def on_head(self) -> None:
        """The final response head arrived (`status` and `headers` are set)."""
        self.timings.first_byte = self.conn._loop.time()
        if not self.waiter.done():
            self.waiter.set_result(None)

    def on_data(self, payload: bytes) -> None:
        """A DATA payload arrived (the connection counted it in `size`)."""
        self._chunks.append(payload)
        reader = self._reader
        if reader is not None and not reader.done():
            reader.set_result(None)

    def on_end(self) -> None:
        """The response ended (END_STREAM)."""
        self._ended = True
        self._send_done = True
        self.timings.ended = self.conn._loop.time()
        self._wake_all()

    def fail(self, error: RpcError) -> None:
        """The stream or its connection broke (or the client reset it)."""
        self._send_done = True
        if self._ended or self._error is not None:
            return
        waiter = self.waiter
        if not waiter.done():
            waiter.set_exception(error)
            waiter.exception()  # retrieved: `response` re-raises it
        if not isinstance(error, NotSent) or self._whole is None or self._retried:
            self._error = error
        self._release()
        self._wake_all()

    def wake(self) -> None:
        """Let a waiting writer look again (a window opened, the stream started or ended)."""
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    # inside

    async def _writable(self) -> None:
        self._wake = wake = self.conn._loop.create_future()
        self.conn._waiting.append(self)
        try:
            await wake
        finally:
            self._wake = None

    def _wake_all(self) -> None:
        self.wake()
        reader = self._reader
        if reader is not None and not reader.done():
            reader.set_result(None)

    def _release(self) -> None:
        """Unread bytes go back to the connection's window (nobody will read them now)."""
        if self.size:
            size, self.size = self.size, 0
            self._chunks.clear()
            self.conn.consumed(self, size)

    def _may_retry(self) -> bool:
        return self._whole is not None and not self._retried and not self._closed

    async def _retry(self) -> None:
        """Send the whole request again on a new connection (the server never processed it)."""
        self._retried = True
        conn = await self._reconnect()
        self.conn = conn
        self.stream_id = 0
        self.pending = self._whole or b""
        self.waiter = conn._loop.create_future()
        self.send_window = self.received = self.status = self.size = 0
        self._send_done = False
        self._error = None
        conn.launch(self)
