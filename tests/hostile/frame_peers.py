"""More hostile servers for `rpcctl call`: HTTP/2 frame-level abuse and odd status fields.

tests/hostile/peers.py has the first set (garbage, stall, drip, 4 GiB prefix, ...). These add
floods of SETTINGS, PING and CONTINUATION frames (RFC 9113 §6.5, §6.7, §6.10), WINDOW_UPDATE
past 2^31-1 (§6.9.1), an HPACK dynamic-table bomb (RFC 7541 §4, §6.1), 10,000 headers,
trailers-only answers with garbage, a huge ``grpc-status-details-bin``, invalid UTF-8 and
control characters in ``grpc-message``, a 10 MB Connect error body and a gRPC-Web trailer
frame declaring 4 GiB. Header blocks are written by hand (literals without indexing, no
Huffman), so the peer sends exactly the bytes meant. Every loop is bounded.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable

import h2.connection

from tests.cli.raw_peers import Script
from tests.hostile.peers import _hpack_string, content_type, envelope, h2_server

FLOOD = 10_000  # frames in each flood
CONTINUATIONS = 200_000  # empty CONTINUATION frames (1.8 MB on the wire)


def raw_frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    """One HTTP/2 frame (RFC 9113 §4.1): 24-bit length, type, flags, stream id, payload."""
    return struct.pack(">I", len(payload))[1:] + bytes((kind, flags)) + struct.pack(">I", stream) + payload


def literal(name: bytes, value: bytes) -> bytes:
    """A literal header field without indexing, new name (RFC 7541 §6.2.2)."""
    return b"\x00" + _hpack_string(name) + _hpack_string(value)


def head_block(protocol: str, status: bytes = b"200", extra: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
    ctype = content_type(protocol)
    return (
        literal(b":status", status)
        + literal(b"content-type", ctype)
        + b"".join(literal(n, v) for n, v in extra)
    )


def header_frames(stream: int, block: bytes, *, end_stream: bool, size: int = 16384) -> bytes:
    """``block`` as HEADERS and CONTINUATION frames of at most ``size`` bytes."""
    pieces = [block[start : start + size] for start in range(0, len(block), size)] or [b""]
    frames = []
    for index, piece in enumerate(pieces):
        kind = 0x1 if index == 0 else 0x9
        flags = (0x4 if index == len(pieces) - 1 else 0) | (0x1 if index == 0 and end_stream else 0)
        frames.append(raw_frame(kind, flags, stream, piece))
    return b"".join(frames)


def data_frames(stream: int, body: bytes, *, end_stream: bool, size: int = 16384) -> bytes:
    pieces = [body[start : start + size] for start in range(0, len(body), size)] or [b""]
    return b"".join(
        raw_frame(0x0, 0x1 if end_stream and index == len(pieces) - 1 else 0, stream, piece)
        for index, piece in enumerate(pieces)
    )


def raw_server(protocol: str, answer: Callable[[int], bytes]) -> Callable[[threading.Event], Script]:
    """An h2c server that writes ``answer(stream)`` verbatim once the request has arrived."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        with contextlib.suppress(OSError):  # the client may close before it read it all
            sock.sendall(answer(stream))

    return h2_server(protocol, act)


def status_answer(protocol: str, stream: int, fields: list[tuple[bytes, bytes]]) -> bytes:
    """A status with no message: trailers-only (gRPC, gRPC-Web) or a Connect error body."""
    if protocol == "grpc":
        return header_frames(stream, head_block(protocol, extra=tuple(fields)), end_stream=True)
    if protocol == "grpc-web":
        trailer = b"".join(name + b": " + value + b"\r\n" for name, value in fields)
        return header_frames(stream, head_block(protocol), end_stream=False) + data_frames(
            stream, envelope(trailer, 0x80), end_stream=True
        )
    message = dict(fields).get(b"grpc-message", b"m")
    body = b'{"code": "invalid_argument", "message": "' + message + b'"}'
    head = literal(b":status", b"400") + literal(b"content-type", b"application/json")
    return header_frames(stream, head, end_stream=False) + data_frames(stream, body, end_stream=True)


def ok_answer(protocol: str, stream: int) -> bytes:
    """A successful empty answer, by hand."""
    if protocol == "connect":
        return header_frames(stream, head_block(protocol), end_stream=False) + data_frames(
            stream, b"", end_stream=True
        )
    if protocol == "grpc":
        return (
            header_frames(stream, head_block(protocol), end_stream=False)
            + data_frames(stream, envelope(b""), end_stream=False)
            + header_frames(stream, literal(b"grpc-status", b"0"), end_stream=True)
        )
    return header_frames(stream, head_block(protocol), end_stream=False) + data_frames(
        stream, envelope(b"") + envelope(b"grpc-status: 0\r\n", 0x80), end_stream=True
    )


def trailers_only_garbage(protocol: str) -> Callable[[threading.Event], Script]:
    fields = [(b"grpc-status", b"\xff\x00garbage"), (b"grpc-message", b"%zz%\xff")]
    return raw_server(protocol, lambda stream: status_answer(protocol, stream, fields))


def huge_details(protocol: str) -> Callable[[threading.Event], Script]:
    """A ``grpc-status-details-bin`` of 48 KB base64 (under the 64 KiB header list limit)
    holding random bytes, not a google.rpc.Status."""
    details = base64.b64encode(bytes(range(256)) * 140).rstrip(b"=")
    if protocol == "connect":
        body = json.dumps(
            {
                "code": "internal",
                "message": "m",
                "details": [{"type": "x" * 100_000, "value": details.decode()}],
            }
        ).encode()
        head = literal(b":status", b"500") + literal(b"content-type", b"application/json")
        return raw_server(
            protocol,
            lambda stream: (
                header_frames(stream, head, end_stream=False) + data_frames(stream, body, end_stream=True)
            ),
        )
    fields = [(b"grpc-status", b"3"), (b"grpc-message", b"m"), (b"grpc-status-details-bin", details)]
    return raw_server(protocol, lambda stream: status_answer(protocol, stream, fields))


def connect_10mb_error(protocol: str) -> Callable[[threading.Event], Script]:
    """A 10 MB error: a Connect JSON error body; a gRPC(-Web) message of 10 MB."""
    if protocol == "connect":
        body = b'{"code": "internal", "message": "' + b"x" * 10_000_000 + b'"}'
        head = literal(b":status", b"500") + literal(b"content-type", b"application/json")
        return raw_server(
            protocol,
            lambda stream: (
                header_frames(stream, head, end_stream=False) + data_frames(stream, body, end_stream=True)
            ),
        )
    body = envelope(b"\x0a" + b"x" * 10_000_000)
    return raw_server(
        protocol,
        lambda stream: (
            header_frames(stream, head_block(protocol), end_stream=False)
            + data_frames(stream, body, end_stream=True)
        ),
    )


def trailer_4gib(protocol: str) -> Callable[[threading.Event], Script]:
    """A message, then a trailer frame (gRPC-Web) or end-stream frame (Connect) of 4 GiB - 1."""
    flag = 0x80 if protocol != "connect" else 0x02

    def answer(stream: int) -> bytes:
        ctype = b"application/connect+proto" if protocol == "connect" else content_type(protocol)
        head = literal(b":status", b"200") + literal(b"content-type", ctype)
        body = envelope(b"") + bytes((flag,)) + b"\xff\xff\xff\xff" + b"grpc-status: 0\r\n"
        return header_frames(stream, head, end_stream=False) + data_frames(stream, body, end_stream=True)

    return raw_server(protocol, answer)


def control_chars(protocol: str) -> Callable[[threading.Event], Script]:
    """NUL, CR and LF in a status message: raw and percent-encoded."""
    message = b"a\r\nx-injected: 1\x00b %0D%0Aerror: forged%00"
    return raw_server(
        protocol,
        lambda stream: status_answer(protocol, stream, [(b"grpc-status", b"3"), (b"grpc-message", message)]),
    )


def invalid_utf8(protocol: str) -> Callable[[threading.Event], Script]:
    message = b"bad \xff\xfe\xc0\xaf and %FF%FE%C0%AF \x1b[31mred\x1b[0m"
    return raw_server(
        protocol,
        lambda stream: status_answer(protocol, stream, [(b"grpc-status", b"3"), (b"grpc-message", message)]),
    )


def many_headers(protocol: str, count: int = FLOOD) -> Callable[[threading.Event], Script]:
    extra = tuple((b"x-h%d" % index, b"v") for index in range(count))
    return raw_server(
        protocol,
        lambda stream: (
            header_frames(stream, head_block(protocol, extra=extra), end_stream=False)
            + data_frames(stream, b"" if protocol == "connect" else envelope(b""), end_stream=True)
        ),
    )


def settings_flood(protocol: str) -> Callable[[threading.Event], Script]:
    return raw_server(
        protocol, lambda stream: raw_frame(0x4, 0, 0, b"") * FLOOD + ok_answer(protocol, stream)
    )


def ping_flood(protocol: str) -> Callable[[threading.Event], Script]:
    return raw_server(
        protocol, lambda stream: raw_frame(0x6, 0, 0, b"p" * 8) * FLOOD + ok_answer(protocol, stream)
    )


def unread_pings(protocol: str) -> Callable[[threading.Event], Script]:
    """3,000,000 PINGs (51 MB) from a server that never reads their acknowledgements."""
    return raw_server(
        protocol, lambda stream: raw_frame(0x6, 0, 0, b"p" * 8) * 3_000_000 + ok_answer(protocol, stream)
    )


def header_control_chars(protocol: str) -> Callable[[threading.Event], Script]:
    """A successful answer with CR, LF, NUL and ESC in a response header's value."""

    def answer(stream: int) -> bytes:
        extra = ((b"x-a", b"a\r\nerror: forged\x00\x1b[31m"),)
        whole = ok_answer(protocol, stream)
        head = header_frames(stream, head_block(protocol), end_stream=False)
        return header_frames(stream, head_block(protocol, extra=extra), end_stream=False) + whole[len(head) :]

    return raw_server(protocol, answer)


def window_overflow(protocol: str) -> Callable[[threading.Event], Script]:
    """WINDOW_UPDATE of 2^31-1 twice on the connection: past the largest window (§6.9.1)."""
    update = raw_frame(0x8, 0, 0, struct.pack(">I", 0x7FFFFFFF))
    return raw_server(protocol, lambda stream: update * 2 + ok_answer(protocol, stream))


def stream_window_overflow(protocol: str) -> Callable[[threading.Event], Script]:
    def answer(stream: int) -> bytes:
        update = raw_frame(0x8, 0, stream, struct.pack(">I", 0x7FFFFFFF))
        return update * 2 + ok_answer(protocol, stream)

    return raw_server(protocol, answer)


def continuation_flood(protocol: str) -> Callable[[threading.Event], Script]:
    """HEADERS without END_HEADERS, then empty CONTINUATION frames that never end the block."""

    def answer(stream: int) -> bytes:
        start = raw_frame(0x1, 0, stream, head_block(protocol))
        return start + raw_frame(0x9, 0, stream, b"") * CONTINUATIONS

    return raw_server(protocol, answer)


def hpack_bomb(protocol: str) -> Callable[[threading.Event], Script]:
    """One 4,000-byte field put in the dynamic table, then indexed 16,000 times: 16 KB of
    header block that decodes to 64 MB."""

    def answer(stream: int) -> bytes:
        entry = b"\x40" + _hpack_string(b"x-b") + _hpack_string(b"b" * 4000)  # incremental indexing
        block = head_block(protocol) + entry + b"\xbe" * 16_000  # 0xbe: indexed field 62
        return header_frames(stream, block, end_stream=False) + data_frames(stream, b"", end_stream=True)

    return raw_server(protocol, answer)


FRAME_KINDS: dict[str, Callable[[str], Callable[[threading.Event], Script]]] = {
    "trailers-only-garbage": trailers_only_garbage,
    "huge-details": huge_details,
    "10mb-error": connect_10mb_error,
    "trailer-4gib": trailer_4gib,
    "control-chars": control_chars,
    "invalid-utf8": invalid_utf8,
    "10k-headers": many_headers,
    "settings-flood": settings_flood,
    "ping-flood": ping_flood,
    "window-overflow": window_overflow,
    "stream-window-overflow": stream_window_overflow,
    "continuation-flood": continuation_flood,
    "hpack-bomb": hpack_bomb,
}
