"""Where the frames of an incoming HTTP/2 byte stream begin and end, read before h2 buffers them.

h2 (under hypercorn) keeps a frame's bytes until the whole frame has arrived and only then
compares its length with SETTINGS_MAX_FRAME_SIZE, so a peer declaring a 16 MiB frame makes
the server hold 16 MiB per connection. RFC 9113 §4.2 lets the server refuse such a frame at
its 9-byte header: `FrameScanner` reads every header as it arrives and reports the first
overlong one. It also knows when a frame, a header block (HEADERS or PUSH_PROMISE without
END_HEADERS, then CONTINUATION, §6.10) or the connection preface (§3.4) is incomplete, which
the header timeout needs. Sans-IO: bytes in, nothing out.
"""

from __future__ import annotations

from rpcctl.transport.h2_frames import (
    CONTINUATION,
    DEFAULT_FRAME,
    FLAG_END_HEADERS,
    HEAD,
    HEADERS,
    PREFACE,
    PUSH_PROMISE,
)

HEAD_SIZE = HEAD.size
BLOCK_STARTS = (HEADERS, PUSH_PROMISE)


class FrameScanner:
    """Follows frame boundaries: `feed` each chunk the peer sends, in order.

    ``max_frame_size`` is the SETTINGS_MAX_FRAME_SIZE the server advertised (bytes of payload;
    RFC 9113 §6.5.2), and may be raised between chunks.
    """

    def __init__(self, max_frame_size: int = DEFAULT_FRAME) -> None:
        self.max_frame_size = max_frame_size
        self._preface_left = len(PREFACE)
        self._head = bytearray()  # a frame header not yet whole
        self._payload_left = 0  # bytes of the current frame's payload still to come
        self._in_block = False  # a header block waits for its END_HEADERS

    @property
    def partial(self) -> bool:
        """The peer started the preface, a frame or a header block and has not finished it."""
        started_preface = 0 < self._preface_left < len(PREFACE)
        return started_preface or bool(self._head) or self._payload_left > 0 or self._in_block

    def feed(self, data: bytes) -> int | None:
        """Account for `data`; the declared length of the first overlong frame in it, else None.

        Once a frame is reported the stream cannot be followed further: stop feeding.
        """
        view = memoryview(data)
        if self._preface_left:
            taken = min(self._preface_left, len(view))
            self._preface_left -= taken
            view = view[taken:]
        while view:
            if self._payload_left:
                taken = min(self._payload_left, len(view))
                self._payload_left -= taken
                view = view[taken:]
                continue
            taken = min(HEAD_SIZE - len(self._head), len(view))
            self._head += view[:taken]
            view = view[taken:]
            if len(self._head) < HEAD_SIZE:
                break
            high, low, kind, flags, _stream = HEAD.unpack(self._head)
            self._head.clear()
            length = high << 8 | low
            if length > self.max_frame_size:
                return length
            self._payload_left = length
            if kind in BLOCK_STARTS or kind == CONTINUATION:
                self._in_block = not flags & FLAG_END_HEADERS
        return None
