"""The reading half of `H2Conn`: frames from the server, parsed and dispatched (RFC 9113 §6).

A mixin so that the connection module stays one concept (streams and sending) and this one
another (what each received frame means). Everything unexpected while reading, not only a
`FrameError`, ends the connection with GOAWAY and fails every stream on it: a half-read
connection cannot be trusted with any of its streams.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

import hpack

from rpcctl.errors import RpcError, TransportError
from rpcctl.transport.first_bytes import h2_first_bytes_error, too_short_for_h2
from rpcctl.transport.h2_codes import error_name, reset_error
from rpcctl.transport.h2_frames import (
    CANCEL,
    COMPRESSION_ERROR,
    CONNECTION_WINDOW,
    CONTINUATION,
    DATA,
    DEFAULT_FRAME,
    ENHANCE_YOUR_CALM,
    FLAG_ACK,
    FLAG_END_HEADERS,
    FLAG_END_STREAM,
    FLAG_PADDED,
    FLAG_PRIORITY,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    GOAWAY,
    GOAWAY_HEAD,
    HEAD,
    HEADERS,
    INTERNAL_ERROR,
    MAX_FRAME_IN,
    MAX_FRAME_SIZE,
    MAX_WINDOW,
    NO_ERROR,
    PING,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    RST_STREAM,
    SETTING,
    SETTINGS,
    SETTINGS_ACK,
    SETTINGS_HEADER_TABLE_SIZE,
    SETTINGS_INITIAL_WINDOW_SIZE,
    SETTINGS_MAX_CONCURRENT_STREAMS,
    SETTINGS_MAX_FRAME_SIZE,
    STREAM_WINDOW,
    U32,
    WINDOW_UPDATE,
    FrameError,
    frame,
    status_of,
    unpad,
    window_update,
)
from rpcctl.transport.h2_stream import H2Stream, NotSent
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from collections import deque

    from rpcctl.transport.h2_exchange import H2Exchange
    from rpcctl.transport.h2_hpack import CachingDecoder, CachingEncoder
    from rpcctl.transport.h2_keepalive import Keepalive
    from rpcctl.transport.h2_stream import H2Limits

MAX_UNREAD_ACKS = 10_000
"""PING and SETTINGS acknowledgements a server may leave unread (our socket full) before it is
told to calm down (as Go's HTTP/2 bounds queued control frames)."""


class FrameReceiver:
    """`data_received` and the frame handlers of `H2Conn` (which defines what they call)."""

    # The connection state this half reads and writes; `H2Conn` adds the rest. Slots, not
    # an instance dict: see `H2Conn`.
    __slots__ = (
        "_blocked",
        "_buffer",
        "_continued",
        "_decoder",
        "_encoder",
        "_first",
        "_keepalive",
        "_loop",
        "_max_streams",
        "_next_id",
        "_out",
        "_peer_frame",
        "_peer_window",
        "_queue",
        "_received",
        "_send_window",
        "_streams",
        "_unread_acks",
        "_waiting",
        "address",
        "closed",
        "limits",
        "settled",
        "usable",
    )  # fmt: skip

    address: str
    limits: H2Limits
    closed: bool
    usable: bool
    settled: asyncio.Future[None]
    _streams: dict[int, H2Stream]
    _paused: bool  # the transport's write buffer is full (H2Conn)
    _unread_acks: int  # PING and SETTINGS acknowledgements queued while paused
    _queue: deque[H2Stream]
    _blocked: list[H2Stream]
    _waiting: list[H2Exchange]
    _encoder: CachingEncoder
    _decoder: CachingDecoder
    _keepalive: Keepalive | None
    _loop: asyncio.AbstractEventLoop
    _buffer: bytes
    _first: bool
    _continued: tuple[int, bool, list[bytes], int] | None  # stream, end, pieces, bytes counted
    _out: list[bytes]
    _received: int
    _send_window: int
    _peer_window: int
    _peer_frame: int
    _max_streams: int
    _next_id: int

    def data_received(self, data: bytes) -> None:
        """Dispatch every whole frame that arrived; keep the start of the next one."""
        if self._keepalive is not None:
            self._keepalive.received = self._loop.time()
        if self._buffer:
            data = self._buffer + data
        if self._first and self._not_a_frame(data):
            return
        size = len(data)
        pos = 0
        try:
            while size - pos >= 9:
                high, low, kind, flags, stream_id = HEAD.unpack_from(data, pos)
                length = (high << 8) | low
                if length > MAX_FRAME_IN:
                    raise FrameError(FRAME_SIZE_ERROR, f"a frame of {length} bytes")
                end = pos + 9 + length
                if end > size:
                    break
                payload = data[pos + 9 : end]
                pos = end
                stream_id &= 0x7FFFFFFF
                if self._continued is not None and kind != CONTINUATION:
                    raise FrameError(PROTOCOL_ERROR, "a header block was interrupted")
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
                    self._on_ping(stream_id, flags, payload)
                elif kind == GOAWAY:
                    self._on_goaway(payload)
                elif kind == PUSH_PROMISE:
                    raise FrameError(PROTOCOL_ERROR, "PUSH_PROMISE although push is disabled")
                # PRIORITY and unknown frame types are ignored (RFC 9113 §4.1, §5.5)
                if self.closed:
                    return
        except FrameError as exc:
            self._buffer = b""
            self._protocol_error(exc)
            return
        except Exception as exc:  # a bug or a surprise: never leave streams waiting on it
            self._buffer = b""
            self._protocol_error(FrameError(INTERNAL_ERROR, f"unexpected {type(exc).__name__}: {exc}"))
            return
        self._buffer = data[pos:] if pos < size else b""
        self._schedule_flush()

    def _not_a_frame(self, data: bytes) -> bool:
        """Whether the server's first bytes show it speaks something else than HTTP/2."""
        if too_short_for_h2(data):
            self._buffer = data  # too little to tell; a frame header has 9 bytes anyway
            return True
        self._buffer = b""
        self._first = False
        error = h2_first_bytes_error(data, self.address)
        if error is None:
            return False
        self._not_http2(error)
        return True

    def _ack(self, kind: str, data: bytes) -> None:
        """Queue a PING or SETTINGS acknowledgement. A server that sends them faster than it
        reads the answers would fill our write buffer without end: past `MAX_UNREAD_ACKS` of
        them queued while the socket is full, ENHANCE_YOUR_CALM (RFC 9113 §10.5)."""
        if self._paused:
            self._unread_acks += 1
            if self._unread_acks > MAX_UNREAD_ACKS:
                reason = f"the server sends {kind} frames faster than it reads their acknowledgements"
                raise FrameError(ENHANCE_YOUR_CALM, reason)
        self._out.append(data)

    def _on_ping(self, stream_id: int, flags: int, payload: bytes) -> None:
        if len(payload) != 8 or stream_id:
            raise FrameError(PROTOCOL_ERROR, "a malformed PING")
        if not flags & FLAG_ACK:
            self._ack("PING", frame(PING, FLAG_ACK, 0, payload))
        elif self._keepalive is not None:
            self._keepalive.acked()

    def _on_data(self, stream_id: int, flags: int, payload: bytes, length: int) -> None:
        if stream_id == 0:
            raise FrameError(PROTOCOL_ERROR, "DATA on stream 0")
        stream = self._streams.get(stream_id)
        if stream is not None and stream.streamed:
            self._on_exchange_data(cast("H2Exchange", stream), flags, payload, length)
            return
        # Flow control counts the whole payload, padding included (RFC 9113 §6.1).
        if length:
            self._received += length
            if self._received >= CONNECTION_WINDOW // 2:
                self._out.append(window_update(0, self._received))
                self._received = 0
        if flags & FLAG_PADDED:
            payload = unpad(payload)
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
                self._out.append(window_update(stream_id, stream.received))
                stream.received = 0

    def _on_exchange_data(self, stream: H2Exchange, flags: int, payload: bytes, length: int) -> None:
        """DATA for an exchange: queued for its reader, acknowledged when read (padding now)."""
        if flags & FLAG_PADDED:
            payload = unpad(payload)
        padding = length - len(payload)
        if padding:
            self.consumed(stream, padding)
        if stream.status == 0:
            self.consumed(stream, len(payload))
            self._stream_error(stream, Code.INTERNAL, "DATA before the response headers")
            return
        if payload:
            stream.size += len(payload)
            if stream.size > STREAM_WINDOW:  # more than the window we gave: RFC 9113 §6.9.1
                self._stream_error(
                    stream,
                    Code.INTERNAL,
                    "the server sent past the stream's flow-control window",
                    FLOW_CONTROL_ERROR,
                )
                return
            stream.on_data(payload)
        if flags & FLAG_END_STREAM:
            self._finish(stream)

    def _on_headers(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id == 0:
            raise FrameError(PROTOCOL_ERROR, "HEADERS on stream 0")
        if flags & FLAG_PADDED:
            payload = unpad(payload)
        if flags & FLAG_PRIORITY:
            if len(payload) < 5:
                raise FrameError(PROTOCOL_ERROR, "a HEADERS frame too short for its priority")
            payload = payload[5:]
        end_stream = bool(flags & FLAG_END_STREAM)
        if flags & FLAG_END_HEADERS:
            self._on_header_block(stream_id, end_stream, payload)
        else:
            self._continued = (stream_id, end_stream, [payload], len(payload))

    def _on_continuation(self, stream_id: int, flags: int, payload: bytes) -> None:
        continued = self._continued
        if continued is None or continued[0] != stream_id:
            raise FrameError(PROTOCOL_ERROR, "an unexpected CONTINUATION frame")
        pieces = continued[2]
        pieces.append(payload)
        # Each frame counts with its 9-byte header: a flood of empty CONTINUATION frames that
        # never ends the block is refused like a large block (RFC 9113 §10.5).
        charged = continued[3] + len(payload) + HEAD.size
        if charged > self.limits.max_header_list:
            raise FrameError(ENHANCE_YOUR_CALM, "a header block larger than the header list limit")
        if flags & FLAG_END_HEADERS:
            self._continued = None
            self._on_header_block(stream_id, continued[1], b"".join(pieces))
        else:
            self._continued = (stream_id, continued[1], pieces, charged)

    def _on_header_block(self, stream_id: int, end_stream: bool, block: bytes) -> None:
        # Every block is decoded, even a dropped stream's: HPACK's table is the connection's.
        try:
            headers = self._decoder.decode(block, raw=True)
        except hpack.OversizedHeaderListError:
            raise FrameError(ENHANCE_YOUR_CALM, "response headers over the header list limit") from None
        except hpack.HPACKError as exc:
            raise FrameError(COMPRESSION_ERROR, f"undecodable headers ({exc})") from None
        stream = self._streams.get(stream_id)
        if stream is None:
            if stream_id >= self._next_id or not stream_id & 1:
                raise FrameError(PROTOCOL_ERROR, f"HEADERS on stream {stream_id}, never opened")
            return
        if stream.status == 0:
            status = status_of(headers)
            if 100 <= status < 200:
                if end_stream:
                    self._stream_error(stream, Code.INTERNAL, "an informational response ended the stream")
                return  # 1xx: the final response follows
            stream.status = status
            stream.headers = headers
            if stream.streamed:
                cast("H2Exchange", stream).on_head()
        elif end_stream:
            stream.raw_trailers = headers
        else:
            self._stream_error(stream, Code.INTERNAL, "a second header block that does not end the stream")
            return
        if end_stream:
            self._finish(stream)

    def _on_window_update(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise FrameError(FRAME_SIZE_ERROR, "a WINDOW_UPDATE frame of the wrong size")
        increment = U32.unpack(payload)[0] & 0x7FFFFFFF
        if stream_id == 0:
            if increment == 0:
                raise FrameError(PROTOCOL_ERROR, "a WINDOW_UPDATE of 0")
            self._send_window += increment
            if self._send_window > MAX_WINDOW:
                raise FrameError(FLOW_CONTROL_ERROR, "the send window grew past 2^31-1")
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
        if self._waiting:
            self._wake_writers()

    def _on_reset(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise FrameError(FRAME_SIZE_ERROR, "an RST_STREAM frame of the wrong size")
        if stream_id == 0:
            raise FrameError(PROTOCOL_ERROR, "RST_STREAM on stream 0")
        stream = self._streams.pop(stream_id, None)
        if stream is not None:
            self._fail_stream(stream, reset_error(U32.unpack(payload)[0], answered=stream.status != 0))
            self._stream_closed()

    def _on_settings(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id:
            raise FrameError(PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & FLAG_ACK:
            return
        if len(payload) % 6:
            raise FrameError(FRAME_SIZE_ERROR, "a SETTINGS frame of the wrong size")
        for offset in range(0, len(payload), 6):
            code, value = SETTING.unpack_from(payload, offset)
            if code == SETTINGS_HEADER_TABLE_SIZE:
                self._encoder.header_table_size = value
            elif code == SETTINGS_MAX_CONCURRENT_STREAMS:
                self._max_streams = value
            elif code == SETTINGS_INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    raise FrameError(FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE past 2^31-1")
                delta, self._peer_window = value - self._peer_window, value
                for stream in self._streams.values():
                    stream.send_window += delta
            elif code == SETTINGS_MAX_FRAME_SIZE:
                if not DEFAULT_FRAME <= value <= MAX_FRAME_SIZE:
                    raise FrameError(PROTOCOL_ERROR, f"SETTINGS_MAX_FRAME_SIZE of {value}")
                self._peer_frame = value
        self._ack("SETTINGS", SETTINGS_ACK)
        if not self.settled.done():
            self.settled.set_result(None)
        self._start_queued()
        if self._blocked:
            self._send_blocked()
        if self._waiting:
            self._wake_writers()

    def _on_goaway(self, payload: bytes) -> None:
        if len(payload) < 8:
            raise FrameError(FRAME_SIZE_ERROR, "a GOAWAY frame too short")
        last, code = GOAWAY_HEAD.unpack_from(payload)
        self.usable = False
        last &= 0x7FFFFFFF
        for stream_id, stream in list(self._streams.items()):
            if stream_id > last:
                del self._streams[stream_id]
                self._fail_stream(stream, NotSent("server is going away (GOAWAY)"))
        self._fail_queued()
        if code != NO_ERROR:
            # The server closes after an error GOAWAY (RFC 9113 §6.8): the rest cannot finish.
            self._fail(RpcError(Code.UNAVAILABLE, f"server ended the connection: GOAWAY {error_name(code)}"))
            return
        self._stream_closed()

    # defined by H2Conn

    def consumed(self, stream: H2Stream, size: int) -> None: ...
    def _schedule_flush(self) -> None: ...
    def _protocol_error(self, error: FrameError) -> None: ...
    def _not_http2(self, error: TransportError) -> None: ...
    def _stream_error(self, stream: H2Stream, code: Code, message: str, reason: int = CANCEL) -> None: ...
    def _fail_stream(self, stream: H2Stream, error: RpcError) -> None: ...
    def _finish(self, stream: H2Stream) -> None: ...
    def _stream_closed(self) -> None: ...
    def _start_queued(self) -> None: ...
    def _send_blocked(self) -> None: ...
    def _wake_writers(self) -> None: ...
    def _fail_queued(self) -> None: ...
    def _fail(self, error: RpcError) -> None: ...
