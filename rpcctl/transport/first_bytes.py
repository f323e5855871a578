"""What a server's first bytes on a connection say it speaks, before any frame is trusted.

An HTTP/2 client learns from the first bytes whether the peer answered in HTTP/1.1, started a
TLS handshake on a plain connection, or sent anything but the SETTINGS frame every HTTP/2
server sends first (RFC 9113 §3.4). The HTTP/1.1 parser asks the same of a status line
(`rpcctl.transport.h1_parser.sniff`).
"""

from __future__ import annotations

from rpcctl.errors import TransportError

# Imported by the HTTP/1.1 parser too: nothing of the HTTP/2 layer is imported at module level.
H2_SETTINGS = 0x4  # the frame type every HTTP/2 server sends first (RFC 9113 §6.5)
# TLS record content types: alert, handshake (RFC 8446 §5.1); then legacy version major 3.
TLS_RECORD_TYPES = (0x15, 0x16)
TLS_MAJOR = 0x03
HTTP1_PREFIX = b"HTTP/1."


def looks_like_tls(data: bytes) -> bool:
    """Whether `data` starts like a TLS record (a server expecting TLS)."""
    return len(data) >= 2 and data[0] in TLS_RECORD_TYPES and data[1] == TLS_MAJOR


def too_short_for_h2(data: bytes) -> bool:
    """Whether too few bytes arrived to tell an HTTP/2 server from another (wait for more)."""
    return len(data) < 7 and (len(data) < 2 or HTTP1_PREFIX.startswith(data))


def h2_first_bytes_error(data: bytes, address: str) -> TransportError | None:
    """The error when an HTTP/2 server's first bytes show it speaks something else, or None.

    `NotHttp2` (the opener may fall back to HTTP/1.1) for an HTTP/1.1 answer or a first frame
    that is not SETTINGS; a plain `TransportError` for a TLS handshake on a plain connection.
    """
    from rpcctl.transport.h2_stream import NotHttp2

    if data.startswith(HTTP1_PREFIX):
        return NotHttp2(f"{address} speaks HTTP/1.1 only (it answered the HTTP/2 preface in HTTP/1.1)")
    if looks_like_tls(data):
        return TransportError(f"{address} answered with TLS: the server expects TLS: use https://")
    if len(data) >= 4 and data[3] != H2_SETTINGS:
        return NotHttp2(f"{address} does not speak HTTP/2 (its answer is no HTTP/2 frame)")
    return None
