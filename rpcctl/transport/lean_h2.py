"""A lean HTTP/2 client for prebuilt unary requests: `rpcctl bench`'s hot path over HTTP/2.

One connection multiplexes many concurrent streams. It is an `asyncio.Protocol` that reads and
writes HTTP/2 frames itself (RFC 9113), with `hpack` for header compression: no reader task, no
locks, no per-call coroutines beyond the caller's own. The caller hands over a prebuilt header
list and body (`H2Conn.submit`) and awaits the returned stream's `waiter`, which completes with
the whole `H2Response` (status, headers, body, trailers).

Why not the `h2` state machine (as `h2_connection` uses for `rpcctl call`): with it, a unary
call over a static nginx cost about 58 µs of client CPU, most of it in h2's per-stream state
machines and event objects; a bench client that costs more than the server measures itself.
The frame layer here keeps only what a client of unary requests needs:

- The peer's SETTINGS: MAX_CONCURRENT_STREAMS (requests beyond it wait in a FIFO queue and start
  as streams end), INITIAL_WINDOW_SIZE (applied to open streams too), MAX_FRAME_SIZE (bodies and
  header blocks are split to it) and HEADER_TABLE_SIZE (the HPACK encoder follows it).
- Flow control both ways: request bodies larger than the send windows wait for WINDOW_UPDATE;
  received DATA, padding included, is acknowledged once half a window is used.
- Writes made in one event-loop turn go out in one `transport.write`.
- PING is answered; PRIORITY and unknown frame types are ignored; PUSH_PROMISE (push is off),
  frames over 16 KiB, a broken header block or HPACK error end the connection with GOAWAY.
- Limits: the response header list (SETTINGS_MAX_HEADER_LIST_SIZE, enforced by the HPACK
  decoder: a connection error) and the body size (the stream is reset, RESOURCE_EXHAUSTED).
- RST_STREAM from the server maps to codes as in `h2_codes`; GOAWAY fails the streams
  it did not accept with `NotSent` (safe to retry on a new connection), and a broken connection
  fails the rest with UNAVAILABLE. `abandon` (deadline, cancel) resets a stream with CANCEL.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections import deque
from dataclasses import dataclass
from typing import Any

import hpack

from rpcctl.errors import RpcError, TransportError
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.h2_codes import error_name, reset_error
from rpcctl.wire.status import Code

# Receive windows: large enough that a fast server is never throttled by our acknowledgements.
CONNECTION_WINDOW = 16 * 1024 * 1024
STREAM_WINDOW = 4 * 1024 * 1024
# Before the server's SETTINGS arrive (RFC 9113 recommends servers allow at least 100).
INITIAL_MAX_STREAMS = 100
CLOSE_WAIT = 1.0  # seconds `H2Client.aclose` waits for sockets to close

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DEFAULT_WINDOW = 65535
DEFAULT_FRAME = 16384
MAX_FRAME_IN = DEFAULT_FRAME  # we never raise SETTINGS_MAX_FRAME_SIZE
MAX_FRAME_SIZE = 2**24 - 1
MAX_WINDOW = 2**31 - 1
MAX_STREAM_ID = 2**31 - 1

# Frame types, flags, settings and error codes (RFC 9113 §6, §7).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    range(10)
)
FLAG_END_STREAM = FLAG_ACK = 0x1
FLAG_END_HEADERS = 0x4
FLAG_PADDED = 0x8
FLAG_PRIORITY = 0x20
SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x2, 0x3
FRAME_SIZE_ERROR, CANCEL, COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 0x6, 0x8, 0x9, 0xB

_HEAD = struct.Struct(">HBBBL")  # length (24 bits, as 16 + 8), type, flags, stream id
_U32 = struct.Struct(">L")
_SETTING = struct.Struct(">HL")
_GOAWAY = struct.Struct(">LL")


def _frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    length = len(payload)
    return _HEAD.pack(length >> 8, length & 0xFF, kind, flags, stream_id) + payload


_SETTINGS_ACK = _frame(SETTINGS, FLAG_ACK, 0, b"")


def _goaway_frame(code: int, last_stream_id: int = 0) -> bytes:
    return _frame(GOAWAY, 0, 0, _GOAWAY.pack(max(last_stream_id, 0), code))


def _unpad(payload: bytes) -> bytes:
    """A padded frame's content (RFC 9113 §6.1): padding longer than the frame is an error."""
    if not payload or payload[0] >= len(payload):
        raise _ConnectionError(PROTOCOL_ERROR, "padding longer than the frame")
    return payload[1 : len(payload) - payload[0]]


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
    __slots__ = ("body", "conn", "headers", "pending", "received", "request", "send_window", "size",
                 "status", "stream_id", "trailers", "waiter")  # fmt: skip

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
        self.send_window = 0  # how much request body the server accepts now
        self.received = 0  # response bytes not yet acknowledged with WINDOW_UPDATE
        self.status = 0  # 0 until the final (non-1xx) response headers
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0


class _ConnectionError(Exception):
    """The server broke the protocol: the connection ends with GOAWAY and this code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class H2Conn(asyncio.Protocol):
    """One client HTTP/2 connection (h2c by prior knowledge, or TLS with ALPN ``h2``)."""

    def __init__(self, limits: H2Limits, address: str) -> None:
        self.limits = limits
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.usable = True  # new streams may start here
        self.closed = False
        self.error: RpcError | None = None
        self.settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # the socket closed
        self._encoder = _CachingEncoder()
        self._decoder = _CachingDecoder()
        self._decoder.max_header_list_size = limits.max_header_list
        self._streams: dict[int, _Stream] = {}
        self._queue: deque[_Stream] = deque()
        self._blocked: list[_Stream] = []  # started, body waiting for send window
        self._next_id = 1
        self._max_streams = INITIAL_MAX_STREAMS
        self._peer_window = DEFAULT_WINDOW  # SETTINGS_INITIAL_WINDOW_SIZE of the server
        self._peer_frame = DEFAULT_FRAME  # SETTINGS_MAX_FRAME_SIZE of the server
        self._send_window = DEFAULT_WINDOW  # the connection's
        self._received = 0  # connection bytes not yet acknowledged
        self._buffer = b""  # the start of a frame not whole yet
        self._continued: tuple[int, bool, list[bytes]] | None = None  # a header block in pieces
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._loop = asyncio.get_running_loop()

    @property
    def active(self) -> int:
        """Streams started and not yet ended, plus requests queued for a slot."""
        return len(self._streams) + len(self._queue)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the preface, our SETTINGS and the connection's receive window."""
        self.transport = transport  # type: ignore[assignment]
        settings = b"".join(
            _SETTING.pack(code, value)
            for code, value in (
                (SETTINGS_ENABLE_PUSH, 0),
                (SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW),
                (SETTINGS_MAX_HEADER_LIST_SIZE, self.limits.max_header_list),
            )
        )
        transport.write(  # type: ignore[attr-defined]
            PREFACE
            + _frame(SETTINGS, 0, 0, settings)
            + _frame(WINDOW_UPDATE, 0, 0, _U32.pack(CONNECTION_WINDOW - DEFAULT_WINDOW))
        )

    def data_received(self, data: bytes) -> None:
        """Dispatch every whole frame that arrived; keep the start of the next one."""
        if self._buffer:
            data = self._buffer + data
        size = len(data)
        pos = 0
        try:
            while size - pos >= 9:
                high, low, kind, flags, stream_id = _HEAD.unpack_from(data, pos)
                length = (high << 8) | low
                if length > MAX_FRAME_IN:
                    raise _ConnectionError(FRAME_SIZE_ERROR, f"a frame of {length} bytes")
                end = pos + 9 + length
                if end > size:
                    break
                payload = data[pos + 9 : end]
                pos = end
                stream_id &= 0x7FFFFFFF
                if self._continued is not None and kind != CONTINUATION:
                    raise _ConnectionError(PROTOCOL_ERROR, "a header block was interrupted")
                if kind == DATA:
                    self._on_data(stream_id, flags, payload, length)
                elif kind == HEADERS:
                    self._on_headers(stream_id, flags, payload)
                elif kind == CONTINUATION:
                    self._on_continuation(stream_id, flags, payload)
                elif kind == WINDOW_UPDATE:
                    self._on_window_update(stream_id, payload)
                elif kind == RST_STREAM:
                    self._on_reset(stream_id, payload)
                elif kind == SETTINGS:
                    self._on_settings(stream_id, flags, payload)
                elif kind == PING:
                    if len(payload) != 8 or stream_id:
                        raise _ConnectionError(PROTOCOL_ERROR, "a malformed PING")
                    if not flags & FLAG_ACK:
                        self._out.append(_frame(PING, FLAG_ACK, 0, payload))
                elif kind == GOAWAY:
                    self._on_goaway(payload)
                elif kind == PUSH_PROMISE:
                    raise _ConnectionError(PROTOCOL_ERROR, "PUSH_PROMISE although push is disabled")
                # PRIORITY and unknown frame types are ignored (RFC 9113 §4.1, §5.5)
                if self.closed:
                    return
        except _ConnectionError as exc:
            self._buffer = b""
            self._protocol_error(exc)
            return
        self._buffer = data[pos:] if pos < size else b""
        self._schedule_flush()

    def eof_received(self) -> bool | None:
        """The server closed its side: nothing more will arrive."""
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail every stream in flight; requests not sent yet may go to a new connection."""
        self.closed = True
        if not self.lost.done():
            self.lost.set_result(None)
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
        if self._streams.get(stream.stream_id) is stream:
            self._reset(stream, CANCEL)
            self._stream_closed()
            self._schedule_flush()

    def close(self) -> None:
        """Close the connection (GOAWAY, then the socket); streams in flight fail."""
        self.usable = False
        transport = self.transport
        if transport is not None and not self.closed and not transport.is_closing():
            with contextlib.suppress(OSError):
                transport.write(b"".join(self._out) + _goaway_frame(NO_ERROR))
            self._out = []
            transport.close()
        self._fail(RpcError(Code.UNAVAILABLE, f"connection to {self.address} closed"))

    # frames received

    def _on_data(self, stream_id: int, flags: int, payload: bytes, length: int) -> None:
        if stream_id == 0:
            raise _ConnectionError(PROTOCOL_ERROR, "DATA on stream 0")
        # Flow control counts the whole payload, padding included (RFC 9113 §6.1).
        if length:
            self._received += length
            if self._received >= CONNECTION_WINDOW // 2:
                self._out.append(_frame(WINDOW_UPDATE, 0, 0, _U32.pack(self._received)))
                self._received = 0
        if flags & FLAG_PADDED:
            payload = _unpad(payload)
        stream = self._streams.get(stream_id)
        if stream is None:
            return  # reset or abandoned by us: its frames may still be on the way
        if stream.status == 0:
            self._stream_error(stream, Code.INTERNAL, "DATA before the response headers")
            return
        if payload:
            stream.size += len(payload)
            if stream.size > self.limits.max_body:
                self._stream_error(
                    stream, Code.RESOURCE_EXHAUSTED, f"response body larger than {self.limits.max_body} bytes"
                )
                return
            stream.body.append(payload)
        if flags & FLAG_END_STREAM:
            self._finish(stream)
        elif length:
            stream.received += length
            if stream.received >= STREAM_WINDOW // 2:
                self._out.append(_frame(WINDOW_UPDATE, 0, stream_id, _U32.pack(stream.received)))
                stream.received = 0

    def _on_headers(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id == 0:
            raise _ConnectionError(PROTOCOL_ERROR, "HEADERS on stream 0")
        if flags & FLAG_PADDED:
            payload = _unpad(payload)
        if flags & FLAG_PRIORITY:
            if len(payload) < 5:
                raise _ConnectionError(PROTOCOL_ERROR, "a HEADERS frame too short for its priority")
            payload = payload[5:]
        end_stream = bool(flags & FLAG_END_STREAM)
        if flags & FLAG_END_HEADERS:
            self._on_header_block(stream_id, end_stream, payload)
        else:
            self._continued = (stream_id, end_stream, [payload])

    def _on_continuation(self, stream_id: int, flags: int, payload: bytes) -> None:
        continued = self._continued
        if continued is None or continued[0] != stream_id:
            raise _ConnectionError(PROTOCOL_ERROR, "an unexpected CONTINUATION frame")
        pieces = continued[2]
        pieces.append(payload)
        if sum(len(piece) for piece in pieces) > self.limits.max_header_list:
            raise _ConnectionError(ENHANCE_YOUR_CALM, "a header block larger than the header list limit")
        if flags & FLAG_END_HEADERS:
            self._continued = None
            self._on_header_block(stream_id, continued[1], b"".join(pieces))

    def _on_header_block(self, stream_id: int, end_stream: bool, block: bytes) -> None:
        # Every block is decoded, even a dropped stream's: HPACK's table is the connection's.
        try:
            headers = self._decoder.decode(block, raw=True)
        except hpack.OversizedHeaderListError:
            raise _ConnectionError(ENHANCE_YOUR_CALM, "response headers over the header list limit") from None
        except hpack.HPACKError as exc:
            raise _ConnectionError(COMPRESSION_ERROR, f"undecodable headers ({exc})") from None
        stream = self._streams.get(stream_id)
        if stream is None:
            if stream_id >= self._next_id or not stream_id & 1:
                raise _ConnectionError(PROTOCOL_ERROR, f"HEADERS on stream {stream_id}, never opened")
            return
        if stream.status == 0:
            status = _status(headers)
            if 100 <= status < 200:
                if end_stream:
                    self._stream_error(stream, Code.INTERNAL, "an informational response ended the stream")
                return  # 1xx: the final response follows
            if status == 0:
                self._stream_error(stream, Code.INTERNAL, "response headers without a valid :status")
                return
            stream.status = status
            stream.headers = headers
        elif end_stream:
            stream.trailers = headers
        else:
            self._stream_error(stream, Code.INTERNAL, "a second header block that does not end the stream")
            return
        if end_stream:
            self._finish(stream)

    def _on_window_update(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise _ConnectionError(FRAME_SIZE_ERROR, "a WINDOW_UPDATE frame of the wrong size")
        increment = _U32.unpack(payload)[0] & 0x7FFFFFFF
        if stream_id == 0:
            if increment == 0:
                raise _ConnectionError(PROTOCOL_ERROR, "a WINDOW_UPDATE of 0")
            self._send_window += increment
            if self._send_window > MAX_WINDOW:
                raise _ConnectionError(FLOW_CONTROL_ERROR, "the send window grew past 2^31-1")
        else:
            stream = self._streams.get(stream_id)
            if stream is None:
                return
            if increment == 0:
                self._stream_error(stream, Code.INTERNAL, "a WINDOW_UPDATE of 0", PROTOCOL_ERROR)
                return
            stream.send_window += increment
            if stream.send_window > MAX_WINDOW:
                self._stream_error(
                    stream, Code.INTERNAL, "the stream window grew past 2^31-1", FLOW_CONTROL_ERROR
                )
                return
        if self._blocked:
            self._send_blocked()

    def _on_reset(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise _ConnectionError(FRAME_SIZE_ERROR, "an RST_STREAM frame of the wrong size")
        if stream_id == 0:
            raise _ConnectionError(PROTOCOL_ERROR, "RST_STREAM on stream 0")
        stream = self._streams.pop(stream_id, None)
        if stream is not None:
            if not stream.waiter.done():
                stream.waiter.set_exception(reset_error(_U32.unpack(payload)[0]))
            self._stream_closed()

    def _on_settings(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id:
            raise _ConnectionError(PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & FLAG_ACK:
            return
        if len(payload) % 6:
            raise _ConnectionError(FRAME_SIZE_ERROR, "a SETTINGS frame of the wrong size")
        for offset in range(0, len(payload), 6):
            code, value = _SETTING.unpack_from(payload, offset)
            if code == SETTINGS_HEADER_TABLE_SIZE:
                self._encoder.header_table_size = value
            elif code == SETTINGS_MAX_CONCURRENT_STREAMS:
                self._max_streams = value
            elif code == SETTINGS_INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    raise _ConnectionError(FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE past 2^31-1")
                delta, self._peer_window = value - self._peer_window, value
                for stream in self._streams.values():
                    stream.send_window += delta
            elif code == SETTINGS_MAX_FRAME_SIZE:
                if not DEFAULT_FRAME <= value <= MAX_FRAME_SIZE:
                    raise _ConnectionError(PROTOCOL_ERROR, f"SETTINGS_MAX_FRAME_SIZE of {value}")
                self._peer_frame = value
        self._out.append(_SETTINGS_ACK)
        if not self.settled.done():
            self.settled.set_result(None)
        self._start_queued()
        if self._blocked:
            self._send_blocked()

    def _on_goaway(self, payload: bytes) -> None:
        if len(payload) < 8:
            raise _ConnectionError(FRAME_SIZE_ERROR, "a GOAWAY frame too short")
        last, code = _GOAWAY.unpack_from(payload)
        self.usable = False
        if code != NO_ERROR:
            self._fail(RpcError(Code.UNAVAILABLE, f"server ended the connection: GOAWAY {error_name(code)}"))
            return
        last &= 0x7FFFFFFF
        for stream_id, stream in list(self._streams.items()):
            if stream_id > last:
                del self._streams[stream_id]
                if not stream.waiter.done():
                    stream.waiter.set_exception(NotSent("server is going away (GOAWAY)"))
        self._fail_queued()
        self._stream_closed()

    # streams

    def _start(self, stream: _Stream) -> None:
        stream_id = self._next_id
        if stream_id > MAX_STREAM_ID:
            self.usable = False
            stream.waiter.set_exception(NotSent("the connection ran out of stream ids"))
            return
        self._next_id = stream_id + 2
        stream.stream_id = stream_id
        stream.send_window = self._peer_window
        self._streams[stream_id] = stream
        block = self._encoder.encode(stream.request)
        body = stream.pending
        out = self._out
        if len(block) <= self._peer_frame:
            flags = FLAG_END_HEADERS if body else FLAG_END_HEADERS | FLAG_END_STREAM
            out.append(_frame(HEADERS, flags, stream_id, block))
        else:
            frame = self._peer_frame
            out.append(_frame(HEADERS, 0 if body else FLAG_END_STREAM, stream_id, block[:frame]))
            for offset in range(frame, len(block), frame):
                flags = FLAG_END_HEADERS if offset + frame >= len(block) else 0
                out.append(_frame(CONTINUATION, flags, stream_id, block[offset : offset + frame]))
        if not body:
            return
        size = len(body)
        if size <= self._peer_frame and size <= self._send_window and size <= stream.send_window:
            out.append(_frame(DATA, FLAG_END_STREAM, stream_id, bytes(body)))
            self._send_window -= size
            stream.send_window -= size
            stream.pending = b""
        else:
            stream.pending = memoryview(body)
            self._send_body(stream)

    def _send_body(self, stream: _Stream) -> bool:
        """Send what the windows allow; True when the body went out whole."""
        view = stream.pending
        while view:
            size = min(self._send_window, stream.send_window, self._peer_frame, len(view))
            if size <= 0:
                stream.pending = view
                if stream not in self._blocked:
                    self._blocked.append(stream)
                return False
            chunk = bytes(view[:size])
            view = view[size:]
            self._send_window -= size
            stream.send_window -= size
            self._out.append(_frame(DATA, 0 if view else FLAG_END_STREAM, stream.stream_id, chunk))
        stream.pending = b""
        return True

    def _send_blocked(self) -> None:
        blocked, self._blocked = self._blocked, []
        for stream in blocked:
            if self._streams.get(stream.stream_id) is stream:
                self._send_body(stream)

    def _start_queued(self) -> None:
        queue = self._queue
        while queue and len(self._streams) < self._max_streams and self.usable:
            stream = queue.popleft()
            if not stream.waiter.done():
                self._start(stream)

    def _finish(self, stream: _Stream) -> None:
        del self._streams[stream.stream_id]
        if stream.pending:
            # The server answered before the request body was all sent: stop sending it.
            self._out.append(_frame(RST_STREAM, 0, stream.stream_id, _U32.pack(NO_ERROR)))
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

    def _stream_error(self, stream: _Stream, code: Code, message: str, reason: int = CANCEL) -> None:
        """End one stream with an error (RST_STREAM to the server); the connection goes on."""
        self._reset(stream, reason)
        if not stream.waiter.done():
            stream.waiter.set_exception(RpcError(code, message))
        self._stream_closed()

    def _stream_closed(self) -> None:
        if self._queue:
            self._start_queued()
        if not self.usable and not self._streams and not self.closed and self.transport is not None:
            self._flush()
            self.transport.close()  # drained after GOAWAY

    def _reset(self, stream: _Stream, reason: int) -> None:
        self._streams.pop(stream.stream_id, None)
        if stream in self._blocked:
            self._blocked.remove(stream)
        self._out.append(_frame(RST_STREAM, 0, stream.stream_id, _U32.pack(reason)))

    # the connection

    def _protocol_error(self, error: _ConnectionError) -> None:
        transport = self.transport
        if transport is not None and not self.closed and not transport.is_closing():
            with contextlib.suppress(OSError):
                transport.write(_goaway_frame(error.code, self._next_id - 2))
        self._out = []
        self._fail(RpcError(Code.INTERNAL, f"HTTP/2 protocol error from {self.address}: {error}"))

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
        if not self._flush_scheduled and self._out:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Everything queued in one event-loop turn goes out in one write."""
        self._flush_scheduled = False
        out = self._out
        if out and self.transport is not None and not self.closed and not self.transport.is_closing():
            self._out = []
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))


def _status(headers: list[tuple[bytes, bytes]]) -> int:
    for name, value in headers:
        if name == b":status":
            return int(value) if value.isdigit() else 0
    return 0


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
        conns = list(self._all)
        for conn in conns:
            conn.close()
        self._all.clear()
        self._conn = None
        # A TLS connection closes after its shutdown exchange: wait (briefly) for the socket to
        # go, so that an event loop ending right after this leaves no transport open.
        lost = [conn.lost for conn in conns if conn.transport is not None and not conn.lost.done()]
        if lost:
            await asyncio.wait(lost, timeout=CLOSE_WAIT)
        else:
            await asyncio.sleep(0)
