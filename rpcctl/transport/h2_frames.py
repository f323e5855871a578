"""HTTP/2 frames as bytes (RFC 9113 §4, §6): types, flags, settings, error codes, builders.

Sans-IO: nothing here touches a socket. `H2Conn` (`rpcctl.transport.h2_conn`) reads frames
with `HEAD` and writes them with `frame`.
"""

from __future__ import annotations

import struct

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # RFC 9113 §3.4
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

HEAD = struct.Struct(">HBBBL")  # length (24 bits, as 16 + 8), type, flags, stream id
U32 = struct.Struct(">L")
SETTING = struct.Struct(">HL")
GOAWAY_HEAD = struct.Struct(">LL")


class FrameError(Exception):
    """The server broke the protocol: the connection ends with GOAWAY and this code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    """One frame: the 9-byte header and the payload."""
    length = len(payload)
    return HEAD.pack(length >> 8, length & 0xFF, kind, flags, stream_id) + payload


SETTINGS_ACK = frame(SETTINGS, FLAG_ACK, 0, b"")


def goaway_frame(code: int, last_stream_id: int = 0) -> bytes:
    """GOAWAY with the last stream id we processed (a client processes none) and a code."""
    return frame(GOAWAY, 0, 0, GOAWAY_HEAD.pack(max(last_stream_id, 0), code))


def window_update(stream_id: int, increment: int) -> bytes:
    """WINDOW_UPDATE for a stream (or the connection, stream 0)."""
    return frame(WINDOW_UPDATE, 0, stream_id, U32.pack(increment))


def rst_stream(stream_id: int, code: int) -> bytes:
    """RST_STREAM with an error code."""
    return frame(RST_STREAM, 0, stream_id, U32.pack(code))


def unpad(payload: bytes) -> bytes:
    """A padded frame's content (RFC 9113 §6.1): padding longer than the frame is an error."""
    if not payload or payload[0] >= len(payload):
        raise FrameError(PROTOCOL_ERROR, "padding longer than the frame")
    return payload[1 : len(payload) - payload[0]]


def status_of(headers: list[tuple[bytes, bytes]]) -> int:
    """The `:status` of a response header block; `FrameError` unless it is three digits.

    RFC 9113 §8.3.2 and RFC 9110 §15: a response without a valid status is malformed, and a
    malformed answer means the connection cannot be trusted (a proxy or a broken peer).
    """
    for name, value in headers:
        if name == b":status":
            if len(value) == 3 and value.isdigit():
                return int(value)
            raise FrameError(PROTOCOL_ERROR, f"a response :status of {value[:20]!r}")
    raise FrameError(PROTOCOL_ERROR, "response headers without :status")


# The receive windows this client announces: large enough that a fast server is never
# throttled by our acknowledgements.
CONNECTION_WINDOW = 16 * 1024 * 1024
STREAM_WINDOW = 4 * 1024 * 1024
