"""The writing half of an HTTP/2 connection for exchanges: request DATA as the windows allow,
END_STREAM, and window updates given back as a reader consumes (RFC 9113 §5.2, §6.9).

`ExchangeSender` is a base of `rpcctl.transport.h2_conn.H2Conn`, which holds the state these
methods read and write; it adds no state of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpcctl.transport.h2_frames import (
    CONNECTION_WINDOW,
    DATA,
    DEFAULT_FRAME,
    FLAG_END_STREAM,
    STREAM_WINDOW,
    frame,
    window_update,
)
from rpcctl.transport.h2_receive import FrameReceiver

if TYPE_CHECKING:
    from rpcctl.transport.h2_exchange import H2Exchange
    from rpcctl.transport.h2_stream import H2Stream

WRITE_BURST = 1024 * 1024  # request body bytes one `send_data` queues at most


class ExchangeSender(FrameReceiver):
    """`send_data`, `end_stream` and `consumed` of `H2Conn` (which defines what they use).

    A subclass of the receiving half only to share its slots: it adds no state.
    """

    __slots__ = ()

    _paused: bool

    def _flush(self) -> None:
        raise NotImplementedError

    def send_data(self, stream: H2Exchange, data: memoryview) -> int:
        """Queue request DATA as the windows and the socket allow; the bytes taken (0: wait)."""
        if self._paused or self.closed or self._streams.get(stream.stream_id) is not stream:
            return 0
        sent = 0
        limit = min(len(data), WRITE_BURST)
        while sent < limit:
            size = min(self._send_window, stream.send_window, self._peer_frame, limit - sent)
            if size <= 0:
                break
            self._out.append(frame(DATA, 0, stream.stream_id, bytes(data[sent : sent + size])))
            self._send_window -= size
            stream.send_window -= size
            sent += size
        if sent >= DEFAULT_FRAME:
            self._flush()  # at once, so that a full socket buffer pauses the writer now
        elif sent:
            self._schedule_flush()
        return sent

    def end_stream(self, stream: H2Exchange) -> bool:
        """END_STREAM on an exchange's request (an empty DATA frame); False if it is not open."""
        if self._streams.get(stream.stream_id) is not stream:
            return False
        stream.body_open = False
        self._out.append(frame(DATA, FLAG_END_STREAM, stream.stream_id, b""))
        stream.timings.request_sent = self._loop.time()
        self._schedule_flush()
        return True

    def consumed(self, stream: H2Stream, size: int) -> None:
        """An exchange's reader took `size` bytes: give the server that much window back."""
        self._received += size
        if self._received >= CONNECTION_WINDOW // 4:
            self._out.append(window_update(0, self._received))
            self._received = 0
        if self._streams.get(stream.stream_id) is stream:
            stream.received += size
            if stream.received >= STREAM_WINDOW // 4:
                self._out.append(window_update(stream.stream_id, stream.received))
                stream.received = 0
        self._schedule_flush()

    def _wake_writers(self) -> None:
        waiting, self._waiting = self._waiting, []
        for exchange in waiting:
            exchange.wake()
