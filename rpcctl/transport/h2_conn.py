"""One client HTTP/2 connection (RFC 9113) as an `asyncio.Protocol`: frames in, frames out.

No reader task, no locks: `data_received` dispatches every whole frame to its stream, and
writes made in one event-loop turn go out in one `transport.write`. Streams come in two
kinds. A bare `H2Stream` (`submit`) collects its whole response into its `waiter`: the unary
fast path `rpcctl bench` measures. An `H2Exchange` (`launch`) gets hooks called as its
response head, body chunks and end arrive, and writes its request body while it reads.

- The peer's SETTINGS: MAX_CONCURRENT_STREAMS (requests beyond it wait in a FIFO queue and start
  as streams end), INITIAL_WINDOW_SIZE (applied to open streams too), MAX_FRAME_SIZE (bodies and
  header blocks are split to it) and HEADER_TABLE_SIZE (the HPACK encoder follows it).
- Flow control both ways: request bodies wait for WINDOW_UPDATE. Received DATA of a bare
  stream is acknowledged on arrival; an exchange's when its reader takes it, so a slow reader
  throttles the server (RFC 9113 §5.2) instead of buffering without bound.
- The transport's write buffer (pause_writing/resume_writing) holds back exchange writers.
- PING is answered; PRIORITY and unknown frame types are ignored; PUSH_PROMISE (push is off),
  frames over 16 KiB, a broken header block, a `:status` that is not three digits, an HPACK
  error, or anything unexpected while reading end the connection with GOAWAY, failing every
  stream on it at once.
- RST_STREAM maps to codes as in `h2_codes`; GOAWAY fails the streams it did not accept with
  `NotSent` (safe to retry on a new connection); a broken connection fails the rest with
  UNAVAILABLE. `abandon` (deadline, cancel) resets a stream with CANCEL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING, cast

from rpcctl.errors import RpcError, TransportError
from rpcctl.transport.exchange import ExchangeTimings
from rpcctl.transport.h2_frames import (
    CANCEL,
    CONNECTION_WINDOW,
    CONTINUATION,
    DATA,
    DEFAULT_FRAME,
    DEFAULT_WINDOW,
    FLAG_END_HEADERS,
    FLAG_END_STREAM,
    HEADERS,
    MAX_STREAM_ID,
    NO_ERROR,
    PING,
    PREFACE,
    SETTING,
    SETTINGS,
    SETTINGS_ENABLE_PUSH,
    SETTINGS_INITIAL_WINDOW_SIZE,
    SETTINGS_MAX_HEADER_LIST_SIZE,
    STREAM_WINDOW,
    FrameError,
    frame,
    goaway_frame,
    rst_stream,
    window_update,
)
from rpcctl.transport.h2_hpack import CachingDecoder, CachingEncoder
from rpcctl.transport.h2_keepalive import Keepalive
from rpcctl.transport.h2_send import ExchangeSender
from rpcctl.transport.h2_stream import H2Limits, H2Stream, NotHttp2, NotSent
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.transport.h2_exchange import H2Exchange
    from rpcctl.transport.whole_response import H2Response

# Before the server's SETTINGS arrive (RFC 9113 recommends servers allow at least 100).
INITIAL_MAX_STREAMS = 100


class H2Conn(ExchangeSender, asyncio.Protocol):
    """One client HTTP/2 connection (h2c by prior knowledge, or TLS with ALPN ``h2``)."""

    # Slots (these and `FrameReceiver`'s), not an instance dict: the hot path reads and
    # writes dozens of these per call, and with 32 of them in a dict that cost about 3% of a
    # unary call's client instructions (1-1.5 µs on a static server) more than slots.
    __slots__ = (
        "_flush_scheduled",
        "_keepalive_time",
        "_keepalive_timeout",
        "_paused",
        "_whole",
        "error",
        "fresh",
        "lost",
        "opened",
        "transport",
    )  # fmt: skip

    def __init__(
        self,
        limits: H2Limits,
        address: str,
        *,
        keepalive_time: float | None = None,
        keepalive_timeout: float = 20.0,
    ) -> None:
        self.limits = limits
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.usable = True  # new streams may start here
        self.closed = False
        self.error: RpcError | None = None
        self.fresh = True  # no exchange took the connection's open timings yet
        self.opened = ExchangeTimings()  # connect_start, connected, tls_done of this connection
        self._loop = asyncio.get_running_loop()
        self.settled: asyncio.Future[None] = self._loop.create_future()
        self.lost: asyncio.Future[None] = self._loop.create_future()  # the socket closed
        self._encoder = CachingEncoder()
        self._decoder = CachingDecoder()
        self._decoder.max_header_list_size = limits.max_header_list
        self._streams: dict[int, H2Stream] = {}
        self._queue: deque[H2Stream] = deque()
        self._blocked: list[H2Stream] = []  # started, whole body waiting for send window
        self._waiting: list[H2Exchange] = []  # exchange writers waiting for window or buffer
        self._next_id = 1
        self._max_streams = INITIAL_MAX_STREAMS
        self._peer_window = DEFAULT_WINDOW  # SETTINGS_INITIAL_WINDOW_SIZE of the server
        self._peer_frame = DEFAULT_FRAME  # SETTINGS_MAX_FRAME_SIZE of the server
        self._send_window = DEFAULT_WINDOW  # the connection's
        self._received = 0  # connection bytes not yet acknowledged
        self._paused = False  # the transport's write buffer is full
        self._unread_acks = 0  # acknowledgements queued while it was (FrameReceiver._ack)
        self._first = True  # nothing received yet: the answer to the preface may be no HTTP/2
        self._buffer = b""  # the start of a frame not whole yet
        self._continued: tuple[int, bool, list[bytes], int] | None = None  # a header block in pieces
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._keepalive_time = keepalive_time
        self._keepalive_timeout = keepalive_timeout
        self._keepalive: Keepalive | None = None
        self._whole: type[H2Response] | None = None  # `submit`'s record, loaded at its first use

    @property
    def active(self) -> int:
        """Streams started and not yet ended, plus requests queued for a slot."""
        return len(self._streams) + len(self._queue)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the preface, our SETTINGS and the connection's receive window."""
        self.transport = transport  # type: ignore[assignment]
        settings = b"".join(
            SETTING.pack(code, value)
            for code, value in (
                (SETTINGS_ENABLE_PUSH, 0),
                (SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW),
                (SETTINGS_MAX_HEADER_LIST_SIZE, self.limits.max_header_list),
            )
        )
        transport.write(  # type: ignore[attr-defined]
            PREFACE + frame(SETTINGS, 0, 0, settings) + window_update(0, CONNECTION_WINDOW - DEFAULT_WINDOW)
        )
        if self._keepalive_time is not None:
            self._keepalive = Keepalive(
                self._loop,
                self._keepalive_time,
                self._keepalive_timeout,
                busy=lambda: bool(self._streams),
                ping=self._send_ping,
                dead=self._keepalive_dead,
            )

    def eof_received(self) -> bool | None:
        """The server closed its side: nothing more will arrive."""
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail every stream in flight; requests not sent yet may go to a new connection."""
        self.closed = True
        if not self.lost.done():
            self.lost.set_result(None)
        if self._first and not self.settled.done():
            # Not one byte in answer to the preface: a TLS server (OpenSSL drops a plaintext
            # peer without an alert) or one that refuses h2c.
            self.settled.set_exception(
                TransportError(
                    f"{self.address} closed the connection without answering the HTTP/2 preface"
                    " (if the server expects TLS: use https://)"
                )
            )
        reason = str(exc) if exc is not None else "the server closed the connection"
        self._fail(RpcError(Code.UNAVAILABLE, f"connection to {self.address} broke: {reason}"))

    def pause_writing(self) -> None:
        """The socket's buffer is full: exchange writers wait."""
        self._paused = True

    def resume_writing(self) -> None:
        """The socket's buffer drained: writers go on."""
        self._paused = False
        self._unread_acks = 0
        if self._waiting:
            self._wake_writers()

    # the client side

    def submit(self, headers: list[tuple[bytes, bytes]], body: bytes) -> H2Stream:
        """Start (or queue) one request; await the returned stream's `waiter`."""
        if self._whole is None:
            from rpcctl.transport.whole_response import H2Response

            self._whole = H2Response
        stream = H2Stream(self, headers, body, self._loop.create_future())
        if len(self._streams) < self._max_streams and not self._queue:
            self._start(stream)
            self._schedule_flush()
        else:
            self._queue.append(stream)
        return stream

    def launch(self, stream: H2Stream) -> None:
        """Start (or queue) an exchange's request."""
        if not self.usable:
            raise NotSent("the connection is closing")
        if len(self._streams) < self._max_streams and not self._queue:
            self._start(stream)
            self._schedule_flush()
        else:
            self._queue.append(stream)

    def abandon(self, stream: H2Stream) -> None:
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
                transport.write(b"".join(self._out) + goaway_frame(NO_ERROR))
            self._out = []
            transport.close()
        self._fail(RpcError(Code.UNAVAILABLE, f"connection to {self.address} closed"))

    # streams

    def _start(self, stream: H2Stream) -> None:
        stream_id = self._next_id
        if stream_id > MAX_STREAM_ID:
            self.usable = False
            self._fail_stream(stream, NotSent("the connection ran out of stream ids"))
            return
        self._next_id = stream_id + 2
        stream.stream_id = stream_id
        stream.send_window = self._peer_window
        self._streams[stream_id] = stream
        block = self._encoder.encode(stream.request)
        body = stream.pending
        # An exchange whose body streams keeps its request open after the headers.
        last = not body and not (stream.streamed and cast("H2Exchange", stream).body_open)
        out = self._out
        if len(block) <= self._peer_frame:
            flags = FLAG_END_HEADERS | FLAG_END_STREAM if last else FLAG_END_HEADERS
            out.append(frame(HEADERS, flags, stream_id, block))
        else:
            size = self._peer_frame
            out.append(frame(HEADERS, FLAG_END_STREAM if last else 0, stream_id, block[:size]))
            for offset in range(size, len(block), size):
                flags = FLAG_END_HEADERS if offset + size >= len(block) else 0
                out.append(frame(CONTINUATION, flags, stream_id, block[offset : offset + size]))
        if not body:
            if stream.streamed:
                cast("H2Exchange", stream).on_started(last)
            return
        size = len(body)
        if size <= self._peer_frame and size <= self._send_window and size <= stream.send_window:
            out.append(frame(DATA, FLAG_END_STREAM, stream_id, bytes(body)))
            self._send_window -= size
            stream.send_window -= size
            stream.pending = b""
        else:
            stream.pending = memoryview(body)
            self._send_body(stream)
        if stream.streamed:
            cast("H2Exchange", stream).on_started(not stream.pending)

    def _send_body(self, stream: H2Stream) -> bool:
        """Send what the windows allow of a whole body; True when it went out whole."""
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
            self._out.append(frame(DATA, 0 if view else FLAG_END_STREAM, stream.stream_id, chunk))
        stream.pending = b""
        if stream.streamed:
            cast("H2Exchange", stream).timings.request_sent = self._loop.time()
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
            if stream.streamed or not stream.waiter.done():
                self._start(stream)

    def _finish(self, stream: H2Stream) -> None:
        del self._streams[stream.stream_id]
        if stream.pending or (stream.streamed and cast("H2Exchange", stream).body_open):
            # The server answered before the request body was all sent: stop sending it.
            self._out.append(rst_stream(stream.stream_id, NO_ERROR))
        if stream.streamed:
            cast("H2Exchange", stream).on_end()
        elif not stream.waiter.done():
            # A bare stream comes from `submit`, which loaded the class.
            body = stream.body
            stream.waiter.set_result(
                cast("type[H2Response]", self._whole)(
                    stream.status,
                    stream.headers,
                    body[0] if len(body) == 1 else b"".join(body),
                    stream.raw_trailers,
                )
            )
        self._stream_closed()

    def _fail_stream(self, stream: H2Stream, error: RpcError) -> None:
        if stream.streamed:
            cast("H2Exchange", stream).fail(error)
        elif not stream.waiter.done():
            stream.waiter.set_exception(error)

    def _stream_error(self, stream: H2Stream, code: Code, message: str, reason: int = CANCEL) -> None:
        """End one stream with an error (RST_STREAM to the server); the connection goes on."""
        self._reset(stream, reason)
        self._fail_stream(stream, RpcError(code, message))
        self._stream_closed()

    def _stream_closed(self) -> None:
        if self._queue:
            self._start_queued()
        if not self.usable and not self._streams and not self.closed and self.transport is not None:
            self._flush()
            self.transport.close()  # drained after GOAWAY

    def _reset(self, stream: H2Stream, reason: int) -> None:
        self._streams.pop(stream.stream_id, None)
        if stream in self._blocked:
            self._blocked.remove(stream)
        self._out.append(rst_stream(stream.stream_id, reason))

    # the connection

    def _send_ping(self) -> None:
        self._out.append(frame(PING, 0, 0, b"rpcctlka"))
        self._flush()

    def _keepalive_dead(self, quiet: float) -> None:
        self._fail(RpcError(Code.UNAVAILABLE, f"no answer from {self.address} for {quiet:.1f} s (keepalive)"))

    def _not_http2(self, error: TransportError) -> None:
        """The server's first bytes are no HTTP/2: opening the connection fails with `error`."""
        if not self.settled.done():
            self.settled.set_exception(error)
        self._fail(RpcError(Code.UNAVAILABLE, str(error)))

    def _protocol_error(self, error: FrameError) -> None:
        transport = self.transport
        if transport is not None and not self.closed and not transport.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                transport.write(goaway_frame(error.code, self._next_id - 2))
        self._out = []
        self._fail(RpcError(Code.INTERNAL, f"HTTP/2 protocol error from {self.address}: {error}"))

    def _fail_queued(self) -> None:
        while self._queue:
            stream = self._queue.popleft()
            self._fail_stream(stream, NotSent("connection ended before the request was sent"))

    def _fail(self, error: RpcError) -> None:
        self.usable = False
        if self.error is None:
            self.error = error
        if self._keepalive is not None:
            self._keepalive.stop()
        if not self.settled.done():
            self.settled.set_exception(error)
        if self.settled.done() and not self.settled.cancelled():
            self.settled.exception()  # retrieved: no "never retrieved" warning
        streams, self._streams = self._streams, {}
        self._blocked = []
        for stream in streams.values():
            self._fail_stream(stream, error)
        self._fail_queued()
        if self._waiting:
            self._wake_writers()
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


__all__ = ["CONNECTION_WINDOW", "STREAM_WINDOW", "H2Conn", "NotHttp2"]
