"""A lean HTTP/2 client for prebuilt unary requests: `rpcctl bench`'s hot path over ``--http2``.

One connection multiplexes many concurrent streams. It is an `asyncio.Protocol` around the `h2`
state machine: no reader task, no locks, no per-call coroutines beyond the caller's own. The
caller hands over a prebuilt header list and body (`H2Conn.submit`) and awaits the returned
stream's `waiter`, which completes with the whole `Response` (status, headers, body, trailers).

- The peer's SETTINGS_MAX_CONCURRENT_STREAMS is respected: requests beyond it wait in a FIFO
  queue and start as streams end.
- Flow control both ways: request bodies larger than the send window wait for WINDOW_UPDATE;
  received DATA is acknowledged (h2 batches the WINDOW_UPDATEs).
- Writes made in one event-loop turn go out in one `transport.write`.
- Limits: the response header list (SETTINGS_MAX_HEADER_LIST_SIZE, enforced by h2's HPACK
  decoder: a connection error) and the body size (the stream is reset, RESOURCE_EXHAUSTED).
- RST_STREAM from the server maps to codes as `h2_connection` does; GOAWAY fails the streams
  it did not accept with `NotSent` (safe to retry on a new connection), and a broken connection
  fails the rest with UNAVAILABLE. `abandon` (deadline, cancel) resets a stream with CANCEL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import hpack

from rpcctl.errors import RpcError, TransportError
from rpcctl.transport.endpoint import Endpoint
from rpcctl.wire.status import Code

# Receive windows: large enough that a fast server is never throttled by our acknowledgements.
CONNECTION_WINDOW = 16 * 1024 * 1024
STREAM_WINDOW = 4 * 1024 * 1024
# Before the server's SETTINGS arrive (RFC 9113 recommends servers allow at least 100).
INITIAL_MAX_STREAMS = 100

_ResponseReceived = h2.events.ResponseReceived
_DataReceived = h2.events.DataReceived
_StreamEnded = h2.events.StreamEnded
_TrailersReceived = h2.events.TrailersReceived
_StreamReset = h2.events.StreamReset
_ConnectionTerminated = h2.events.ConnectionTerminated
_RemoteSettingsChanged = h2.events.RemoteSettingsChanged
_WindowUpdated = h2.events.WindowUpdated
_InformationalResponseReceived = h2.events.InformationalResponseReceived


@dataclass(frozen=True)
class H2Limits:
    """How much of a response the client accepts."""

    max_body: int = 4 * 1024 * 1024 + 64 * 1024
    max_header_list: int = 64 * 1024  # SETTINGS_MAX_HEADER_LIST_SIZE (HPACK-decoded size)


@dataclass(frozen=True, slots=True)
class H2Response:
    """A complete response: status, headers and trailers (names lowercase, bytes), the body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    trailers: list[tuple[bytes, bytes]]


class NotSent(Exception):
    """The server never processed the request (GOAWAY, or the connection ended before it went out)."""


# Header blocks remembered per connection (a server's `date` header makes a new one each second).
HPACK_CACHE_ENTRIES = 256


def _table_state(table: hpack.table.HeaderTable) -> tuple[int, object, int]:
    """What changes whenever an HPACK dynamic table does (entries are new tuples when added)."""
    entries = table.dynamic_entries
    return len(entries), entries[0] if entries else None, table.maxsize


class _CachingDecoder(hpack.Decoder):
    """HPACK decoding remembered per header block while the dynamic table stays the same.

    A static server answers each call with the same block; decoding it (Huffman, in Python)
    was a third of the client's CPU per call. A block that changed the table is not cached
    and moves the generation on, which drops every earlier entry (their indexes may now name
    other entries). Limits hold: only blocks that passed them once are remembered.
    """

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[bytes, tuple[int, list[tuple[bytes, bytes]]]] = {}
        self._generation = 0

    def decode(self, data: bytes, raw: bool = False) -> list[tuple[bytes, bytes]]:  # type: ignore[override]
        key = bytes(data)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == self._generation and raw:
            return list(hit[1])
        before = _table_state(self.header_table)
        headers: list[tuple[bytes, bytes]] = list(super().decode(data, raw))
        if _table_state(self.header_table) != before:
            self._generation += 1
            self._cache.clear()
        elif raw:
            if len(self._cache) >= HPACK_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[key] = (self._generation, headers)
        return headers


class _CachingEncoder(hpack.Encoder):
    """HPACK encoding remembered per header list while the dynamic table stays the same.

    Bench sends the same few header lists again and again: once their fields are in the
    table, each encodes to the same indexed block.
    """

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[tuple[Any, ...], bytes] = {}

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        key = tuple(headers)
        if not self.table_size_changes:
            block = self._cache.get(key)
            if block is not None:
                return block
        before = _table_state(self.header_table)
        resized = bool(self.table_size_changes)
        block = super().encode(key, huffman)
        if resized or _table_state(self.header_table) != before:
            self._cache.clear()  # indexes moved: cached blocks may now name other fields
        else:
            if len(self._cache) >= HPACK_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[key] = block
        return block


class _Stream:
    __slots__ = ("body", "conn", "headers", "pending", "request", "size", "status", "stream_id",
                 "trailers", "waiter")  # fmt: skip

    def __init__(
        self,
        conn: H2Conn,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        waiter: asyncio.Future[H2Response],
    ) -> None:
        self.conn = conn
        self.request = headers
        self.pending: memoryview | bytes = body  # request bytes not sent yet
        self.waiter = waiter
        self.stream_id = 0
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0


class H2Conn(asyncio.Protocol):
    """One client HTTP/2 connection (h2c by prior knowledge, or TLS with ALPN ``h2``)."""

    def __init__(self, limits: H2Limits, address: str) -> None:
        self.limits = limits
        self.address = address
        self._h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(
                client_side=True,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                validate_inbound_headers=False,
                normalize_inbound_headers=False,
            )
        )
        self._h2.encoder = _CachingEncoder()
        self._h2.decoder = _CachingDecoder()
        self.transport: asyncio.Transport | None = None
        self.usable = True  # new streams may start here
        self.closed = False
        self.error: RpcError | None = None
        self.settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._streams: dict[int, _Stream] = {}
        self._queue: deque[_Stream] = deque()
        self._blocked: list[_Stream] = []  # started, body waiting for send window
        self._max_streams = INITIAL_MAX_STREAMS
        self._flush_scheduled = False
        self._loop = asyncio.get_running_loop()

    @property
    def active(self) -> int:
        """Streams started and not yet ended, plus requests queued for a slot."""
        return len(self._streams) + len(self._queue)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the preface and our SETTINGS."""
        self.transport = transport  # type: ignore[assignment]
        conn = self._h2
        conn.initiate_connection()
        conn.update_settings(
            {
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: self.limits.max_header_list,
            }
        )
        conn.increment_flow_control_window(CONNECTION_WINDOW - 65535)
        # The HPACK decoder enforces the limit from the start, not only once our SETTINGS are acked.
        conn.decoder.max_header_list_size = self.limits.max_header_list
        transport.write(conn.data_to_send())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        """Dispatch the frames that arrived to their streams."""
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self._fail(RpcError(Code.INTERNAL, f"HTTP/2 protocol error from {self.address}: {exc}"))
            return
        streams = self._streams
        for event in events:
            kind = type(event)
            if kind is _DataReceived:
                stream = streams.get(event.stream_id)  # type: ignore[attr-defined]
                length = event.flow_controlled_length  # type: ignore[attr-defined]
                if length:
                    self._h2.acknowledge_received_data(length, event.stream_id)  # type: ignore[attr-defined]
                if stream is not None:
                    chunk = event.data  # type: ignore[attr-defined]
                    stream.size += len(chunk)
                    if stream.size > self.limits.max_body:
                        limit = self.limits.max_body
                        self._reset(stream)
                        stream.waiter.set_exception(
                            RpcError(Code.RESOURCE_EXHAUSTED, f"response body larger than {limit} bytes")
                        )
                        self._stream_closed()
                    else:
                        stream.body.append(chunk)
            elif kind is _ResponseReceived:
                stream = streams.get(event.stream_id)  # type: ignore[attr-defined]
                if stream is not None:
                    stream.headers = headers = event.headers  # type: ignore[attr-defined]
                    stream.status = _status(headers)
            elif kind is _StreamEnded:
                stream = streams.pop(event.stream_id, None)  # type: ignore[attr-defined]
                if stream is not None:
                    if not stream.waiter.done():
                        body = stream.body
                        stream.waiter.set_result(
                            H2Response(
                                stream.status,
                                stream.headers,
                                body[0] if len(body) == 1 else b"".join(body),
                                stream.trailers,
                            )
                        )
                    self._stream_closed()
            elif kind is _TrailersReceived:
                stream = streams.get(event.stream_id)  # type: ignore[attr-defined]
                if stream is not None:
                    stream.trailers = event.headers  # type: ignore[attr-defined]
            elif kind is _WindowUpdated:
                if self._blocked:
                    self._send_blocked()
            elif kind is _StreamReset:
                stream = streams.pop(event.stream_id, None)  # type: ignore[attr-defined]
                if stream is not None:
                    if not stream.waiter.done():
                        stream.waiter.set_exception(_reset_error(event.error_code))  # type: ignore[attr-defined]
                    self._stream_closed()
            elif kind is _RemoteSettingsChanged:
                self._max_streams = self._h2.remote_settings.max_concurrent_streams
                if not self.settled.done():
                    self.settled.set_result(None)
                self._start_queued()
                if self._blocked:
                    self._send_blocked()
            elif kind is _ConnectionTerminated:
                self._goaway(event)  # type: ignore[arg-type]
        self._schedule_flush()

    def eof_received(self) -> bool | None:
        """The server closed its side: nothing more will arrive."""
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail every stream in flight; requests not sent yet may go to a new connection."""
        self.closed = True
        reason = str(exc) if exc is not None else "the server closed the connection"
        self._fail(RpcError(Code.UNAVAILABLE, f"connection to {self.address} broke: {reason}"))

    # the client side

    def submit(self, headers: list[tuple[bytes, bytes]], body: bytes) -> _Stream:
        """Start (or queue) one request; await the returned stream's `waiter`."""
        stream = _Stream(self, headers, body, self._loop.create_future())
        if len(self._streams) < self._max_streams and not self._queue:
            self._start(stream)
            self._schedule_flush()
        else:
            self._queue.append(stream)
        return stream

    def abandon(self, stream: _Stream) -> None:
        """Give up on a stream (the caller was cancelled): RST_STREAM CANCEL if it started."""
        if stream.stream_id == 0:
            with contextlib.suppress(ValueError):
                self._queue.remove(stream)
            return
        if self._streams.pop(stream.stream_id, None) is not None:
            self._reset(stream)
            self._stream_closed()
            self._schedule_flush()

    def close(self) -> None:
        """Close the connection (GOAWAY, then the socket); streams in flight fail."""
        self.usable = False
        transport = self.transport
        if transport is not None and not self.closed:
            try:
                self._h2.close_connection()
                transport.write(self._h2.data_to_send())
            except (h2.exceptions.H2Error, OSError):
                pass
            transport.close()
        self._fail(RpcError(Code.UNAVAILABLE, f"connection to {self.address} closed"))

    # internals

    def _start(self, stream: _Stream) -> None:
        conn = self._h2
        stream_id = conn.get_next_available_stream_id()
        stream.stream_id = stream_id
        self._streams[stream_id] = stream
        body = stream.pending
        if not body:
            conn.send_headers(stream_id, stream.request, end_stream=True)
            return
        conn.send_headers(stream_id, stream.request, end_stream=False)
        if len(body) <= conn.max_outbound_frame_size and len(body) <= conn.local_flow_control_window(
            stream_id
        ):
            conn.send_data(stream_id, body, end_stream=True)
            stream.pending = b""
        else:
            stream.pending = memoryview(body)
            self._send_body(stream)

    def _send_body(self, stream: _Stream) -> bool:
        """Send what the windows allow; True when the body went out whole."""
        conn = self._h2
        view = stream.pending
        while view:
            size = min(
                conn.local_flow_control_window(stream.stream_id), conn.max_outbound_frame_size, len(view)
            )
            if size <= 0:
                if stream not in self._blocked:
                    self._blocked.append(stream)
                return False
            chunk = bytes(view[:size])
            view = view[size:]
            conn.send_data(stream.stream_id, chunk, end_stream=not view)
        stream.pending = b""
        return True

    def _send_blocked(self) -> None:
        blocked, self._blocked = self._blocked, []
        for stream in blocked:
            if self._streams.get(stream.stream_id) is stream:
                with contextlib.suppress(h2.exceptions.H2Error):
                    self._send_body(stream)

    def _start_queued(self) -> None:
        queue = self._queue
        while queue and len(self._streams) < self._max_streams and self.usable:
            stream = queue.popleft()
            if not stream.waiter.done():
                self._start(stream)

    def _stream_closed(self) -> None:
        if self._queue:
            self._start_queued()
        if not self.usable and not self._streams and not self.closed and self.transport is not None:
            self.transport.close()  # drained after GOAWAY

    def _reset(self, stream: _Stream) -> None:
        self._streams.pop(stream.stream_id, None)
        with contextlib.suppress(h2.exceptions.H2Error, KeyError):
            self._h2.reset_stream(stream.stream_id, h2.errors.ErrorCodes.CANCEL)

    def _goaway(self, event: h2.events.ConnectionTerminated) -> None:
        self.usable = False
        if event.error_code != h2.errors.ErrorCodes.NO_ERROR:
            self._fail(
                RpcError(Code.UNAVAILABLE, f"server ended the connection: GOAWAY {event.error_code!s}")
            )
            return
        last = event.last_stream_id or 0
        for stream_id, stream in list(self._streams.items()):
            if stream_id > last:
                del self._streams[stream_id]
                if not stream.waiter.done():
                    stream.waiter.set_exception(NotSent("server is going away (GOAWAY)"))
        self._fail_queued()
        self._stream_closed()

    def _fail_queued(self) -> None:
        while self._queue:
            stream = self._queue.popleft()
            if not stream.waiter.done():
                stream.waiter.set_exception(NotSent("connection ended before the request was sent"))

    def _fail(self, error: RpcError) -> None:
        self.usable = False
        if self.error is None:
            self.error = error
        if not self.settled.done():
            self.settled.set_exception(error)
            self.settled.exception()  # retrieved: no "never retrieved" warning
        streams, self._streams = self._streams, {}
        self._blocked = []
        for stream in streams.values():
            if not stream.waiter.done():
                stream.waiter.set_exception(error)
        self._fail_queued()
        if not self.closed and self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        data = self._h2.data_to_send()
        if data and self.transport is not None and not self.closed:
            self.transport.write(data)


def _status(headers: list[tuple[bytes, bytes]]) -> int:
    for name, value in headers:
        if name == b":status":
            return int(value) if value.isdigit() else 0
    return 0


def _reset_error(error_code: int) -> RpcError:
    """RST_STREAM's code as `h2_connection` maps it."""
    codes: dict[int, Code] = {
        h2.errors.ErrorCodes.REFUSED_STREAM: Code.UNAVAILABLE,
        h2.errors.ErrorCodes.CANCEL: Code.CANCELLED,
        h2.errors.ErrorCodes.ENHANCE_YOUR_CALM: Code.RESOURCE_EXHAUSTED,
        h2.errors.ErrorCodes.INADEQUATE_SECURITY: Code.PERMISSION_DENIED,
    }
    try:
        name = h2.errors.ErrorCodes(error_code).name
    except ValueError:
        name = str(error_code)
    return RpcError(codes.get(error_code, Code.INTERNAL), f"stream reset by the server ({name})")


class H2Client:
    """Requests to one server over one HTTP/2 connection at a time (a new one after GOAWAY)."""

    def __init__(self, endpoint: Endpoint, *, limits: H2Limits | None = None) -> None:
        self.endpoint = endpoint
        self.address = endpoint.address
        self.limits = limits or H2Limits()
        self.connections_opened = 0
        self._conn: H2Conn | None = None
        self._opening: asyncio.Future[H2Conn] | None = None
        self._all: set[H2Conn] = set()
        self._closed = False

    async def request(self, headers: list[tuple[bytes, bytes]], body: bytes) -> H2Response:
        """Send one request; its whole response. `RpcError` for a broken call."""
        conn = self._conn
        if conn is None or not conn.usable:
            conn = await self._connection()
        stream = conn.submit(headers, body)
        try:
            return await stream.waiter
        except NotSent:
            pass  # the server never saw it: once more on a new connection
        except BaseException:
            if not stream.waiter.done() or stream.waiter.cancelled():
                conn.abandon(stream)
            raise
        conn = await self._connection()
        stream = conn.submit(headers, body)
        try:
            return await stream.waiter
        except NotSent as exc:
            raise RpcError(Code.UNAVAILABLE, f"{self.address}: {exc}") from None
        except BaseException:
            if not stream.waiter.done() or stream.waiter.cancelled():
                conn.abandon(stream)
            raise

    async def connect(self) -> None:
        """Open the connection now (`TransportError` if it cannot be)."""
        await self._connection()

    async def _connection(self) -> H2Conn:
        conn = self._conn
        if conn is not None and conn.usable:
            return conn
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
        opening = self._opening
        try:
            return await asyncio.shield(opening)
        finally:
            if self._opening is opening and opening.done():
                self._opening = None

    async def _open(self) -> H2Conn:
        if self._closed:
            raise TransportError(f"connection to {self.address} is closed")

        def factory() -> H2Conn:
            return H2Conn(self.limits, self.address)

        transport, conn = await self.endpoint.connect(factory)
        try:
            if self.endpoint.ssl_context is not None:
                ssl_object = transport.get_extra_info("ssl_object")
                chosen = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
                if chosen != "h2":
                    raise TransportError(
                        f"{self.address} does not offer HTTP/2 (ALPN chose {chosen or 'nothing'}): "
                        "drop --http2 to use HTTP/1.1"
                    )
            async with asyncio.timeout(self.endpoint.connect_timeout):
                await conn.settled
        except TimeoutError:
            transport.close()
            raise TransportError(f"cannot connect to {self.address}: no HTTP/2 settings in time") from None
        except RpcError as exc:
            transport.close()
            raise TransportError(f"cannot speak HTTP/2 with {self.address}: {exc.message}") from None
        except TransportError:
            transport.close()
            raise
        self.connections_opened += 1
        self._all = {c for c in self._all if not c.closed}
        self._all.add(conn)
        self._conn = conn
        return conn

    async def aclose(self) -> None:
        """Close every connection."""
        self._closed = True
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
            await asyncio.gather(self._opening, return_exceptions=True)
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._conn = None
        await asyncio.sleep(0)
