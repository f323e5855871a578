"""Hostile servers for `rpcctl call`, scripted per kind and per protocol, on 127.0.0.1 port 0.

Each kind is a function of the protocol that answers one request the way a broken or
malicious server would: garbage instead of HTTP/2, a stall after SETTINGS, a drip of bytes,
a 4 GiB length prefix, a 1 MiB header, a reset in the middle of a message, a GOAWAY, half a
message, a proxy's HTML 502, a gzip bomb, a bad ``:status``, deeply nested JSON, numbers of
5,000 digits. HTTP/2 kinds use the h2 library with its own checks off (so it sends what it
is told); the socket threads come from tests/cli/raw_peers.py. Every loop is bounded.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import threading
from collections.abc import Callable

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

from tests.cli.raw_peers import H2_PREFACE, Script, read_some, silent_after_settings

Action = Callable[[h2.connection.H2Connection, socket.socket, int, threading.Event], None]
DRIP_SECONDS = 3.0
BOMB = gzip.compress(b"\x00" * (8 * 1024 * 1024))  # ~8 KiB inflating to 8 MiB
DEEP = b"[" * 30_000 + b"]" * 30_000  # under the initial flow-control window
LONG = b"9" * 5000


def envelope(data: bytes, flags: int = 0) -> bytes:
    """The 5-byte prefix and the data (gRPC, gRPC-Web and Connect streaming framing)."""
    return struct.pack(">BI", flags, len(data)) + data


def content_type(protocol: str) -> bytes:
    """The content type of a successful response in each protocol (proto codec)."""
    return {"grpc": b"application/grpc", "grpc-web": b"application/grpc-web+proto"}.get(
        protocol, b"application/proto"
    )


def _send(conn: h2.connection.H2Connection, sock: socket.socket) -> None:
    data = conn.data_to_send()
    if data:
        sock.sendall(data)


def h2_server(protocol: str, act: Action) -> Callable[[threading.Event], Script]:
    """An h2c server that runs `act` once a request has fully arrived, then drains."""

    def make(stop: threading.Event) -> Script:
        def script(sock: socket.socket) -> None:
            config = h2.config.H2Configuration(
                client_side=False,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                validate_inbound_headers=False,
            )
            conn = h2.connection.H2Connection(config)
            conn.initiate_connection()
            conn.update_settings({h2.settings.SettingCodes.MAX_FRAME_SIZE: 1 << 20})
            _send(conn, sock)
            sock.settimeout(5)
            for _ in range(200):
                data = sock.recv(65536)
                if not data:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.DataReceived):
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    if isinstance(event, h2.events.StreamEnded):
                        _send(conn, sock)
                        act(conn, sock, event.stream_id, stop)
                        _send(conn, sock)
                        read_some(sock, 1 << 20, limit=2.0)
                        return
                _send(conn, sock)

        return script

    return make


def _head(protocol: str, status: bytes = b"200", extra: tuple[tuple[bytes, bytes], ...] = ()) -> list:
    return [(b":status", status), (b"content-type", content_type(protocol)), *extra]


def ok_end(protocol: str) -> tuple[bytes, list | None]:
    """The body tail and trailers that end a successful response."""
    if protocol == "grpc":
        return b"", [(b"grpc-status", b"0")]
    if protocol == "grpc-web":
        return envelope(b"grpc-status: 0\r\n", 0x80), None
    return b"", None


def message_body(protocol: str, data: bytes, flags: int = 0) -> bytes:
    return data if protocol == "connect" else envelope(data, flags)


def _respond(
    conn: h2.connection.H2Connection,
    stream: int,
    head: list,
    body: bytes,
    trailers: list | None,
) -> None:
    conn.send_headers(stream, head, end_stream=False)
    size = conn.max_outbound_frame_size
    for start in range(0, len(body), size):
        last = start + size >= len(body)
        conn.send_data(stream, body[start : start + size], end_stream=last and trailers is None)
    if trailers is not None:
        conn.send_headers(stream, trailers, end_stream=True)
    elif not body:
        conn.send_data(stream, b"", end_stream=True)


def _status_only(conn: h2.connection.H2Connection, stream: int, protocol: str, status: list) -> None:
    """A response with no message: the status in HTTP trailers (gRPC) or a trailer frame (gRPC-Web)."""
    if protocol == "grpc":
        _respond(conn, stream, _head(protocol), b"", status)
        return
    block = b"".join(name + b": " + value + b"\r\n" for name, value in status)
    _respond(conn, stream, _head(protocol), envelope(block, 0x80), None)


def garbage(protocol: str) -> Callable[[threading.Event], Script]:
    """Not HTTP/2 at all: bytes that are no frame, after the client's preface."""

    def make(stop: threading.Event) -> Script:
        def script(sock: socket.socket) -> None:
            read_some(sock, len(H2_PREFACE))
            sock.sendall(b"\x17\x03\x03 garbage, not a SETTINGS frame \xff\xfe" * 64)
            read_some(sock, 1 << 16, limit=2.0)

        return script

    return make


def stall(protocol: str) -> Callable[[threading.Event], Script]:
    """SETTINGS, then never another byte."""
    return silent_after_settings


def drip(protocol: str) -> Callable[[threading.Event], Script]:
    """Headers, then a message one byte at a time, slower than any deadline."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        conn.send_headers(stream, _head(protocol))
        _send(conn, sock)
        payload = message_body(protocol, b"\x0a\x40" + b"x" * 64)
        for byte in payload[: int(DRIP_SECONDS / 0.1)]:
            if stop.wait(0.1):
                return
            conn.send_data(stream, bytes([byte]))
            _send(conn, sock)

    return h2_server(protocol, act)


def huge_prefix(protocol: str) -> Callable[[threading.Event], Script]:
    """A length prefix of 4 GiB - 1 (a Connect unary body has none: a 4 GiB content-length)."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        if protocol == "connect":
            conn.send_headers(stream, _head(protocol, extra=((b"content-length", b"4294967295"),)))
            conn.send_data(stream, b"\x00" * 1024)
            return
        conn.send_headers(stream, _head(protocol))
        conn.send_data(stream, b"\x00\xff\xff\xff\xff" + b"\x00" * 1024)

    return h2_server(protocol, act)


def big_header(protocol: str) -> Callable[[threading.Event], Script]:
    """A response header of 1 MiB, in HEADERS and CONTINUATION frames of 16 KiB.

    The block is written by hand (a literal without indexing, no Huffman coding, RFC 7541
    §6.2.2): h2's encoder takes minutes to Huffman-code 1 MiB, so through h2 the header never
    left before the client's deadline, and the case tested a stall instead.
    """
    value = b"a" * (1 << 20)
    block = b"\x88" + b"\x00" + _hpack_string(b"x-big") + _hpack_string(value)  # 0x88: :status 200

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        size = 16384
        pieces = [block[start : start + size] for start in range(0, len(block), size)]
        frames = []
        for index, piece in enumerate(pieces):
            kind = 0x1 if index == 0 else 0x9  # HEADERS, then CONTINUATION (RFC 9113 §6.2, §6.10)
            flags = 0x4 if index == len(pieces) - 1 else 0  # END_HEADERS on the last
            frames.append(struct.pack(">I", len(piece))[1:] + bytes((kind, flags)))
            frames.append(struct.pack(">I", stream) + piece)
        with contextlib.suppress(OSError):  # the client may close before it read it all
            sock.sendall(b"".join(frames))

    return h2_server(protocol, act)


def _hpack_string(data: bytes) -> bytes:
    """An HPACK string literal without Huffman coding (RFC 7541 §5.2): 7-bit-prefix length."""
    length, out = len(data), bytearray()
    if length < 127:
        out.append(length)
    else:
        out.append(127)
        length -= 127
        while length >= 128:
            out.append(length % 128 + 128)
            length //= 128
        out.append(length)
    return bytes(out) + data


def reset_mid_message(protocol: str) -> Callable[[threading.Event], Script]:
    """Half a message, then RST_STREAM(INTERNAL_ERROR)."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        conn.send_headers(stream, _head(protocol))
        conn.send_data(stream, message_body(protocol, b"\x0a\x40" + b"x" * 64)[:20])
        conn.reset_stream(stream, h2.errors.ErrorCodes.INTERNAL_ERROR)

    return h2_server(protocol, act)


def goaway(protocol: str) -> Callable[[threading.Event], Script]:
    """GOAWAY(last stream 0, NO_ERROR) in answer to the request: it was never processed."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        conn.close_connection(h2.errors.ErrorCodes.NO_ERROR, last_stream_id=0)

    return h2_server(protocol, act)


def half_message(protocol: str) -> Callable[[threading.Event], Script]:
    """Half a message, then the end of the stream: no more bytes, no status."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        conn.send_headers(stream, _head(protocol))
        whole = message_body(protocol, b"\x0a\x40" + b"x" * 64)
        if protocol == "connect":
            whole = b"\x0a\x40" + b"x" * 20  # a field that claims 64 bytes and has 20
        conn.send_data(stream, whole[:25], end_stream=True)

    return h2_server(protocol, act)


def html_502(protocol: str) -> Callable[[threading.Event], Script]:
    """A proxy's error page."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        head = [(b":status", b"502"), (b"content-type", b"text/html")]
        _respond(
            conn, stream, head, b"<html><body><h1>502 Bad Gateway</h1>" + b"x" * 10_000 + b"</html>", None
        )

    return h2_server(protocol, act)


def gzip_bomb(protocol: str) -> Callable[[threading.Event], Script]:
    """~8 KiB of gzip that inflates to 8 MiB, over the 4 MiB default cap."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        if protocol == "connect":
            head = _head(protocol, extra=((b"content-encoding", b"gzip"),))
            _respond(conn, stream, head, BOMB, None)
            return
        head = _head(protocol, extra=((b"grpc-encoding", b"gzip"),))
        tail, trailers = ok_end(protocol)
        _respond(conn, stream, head, envelope(BOMB, 1) + tail, trailers)

    return h2_server(protocol, act)


def bad_status(protocol: str) -> Callable[[threading.Event], Script]:
    """A ``:status`` that is no HTTP status."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        tail, trailers = ok_end(protocol)
        _respond(conn, stream, _head(protocol, status=b"2x0"), message_body(protocol, b"") + tail, trailers)

    return h2_server(protocol, act)


def deep_json(protocol: str) -> Callable[[threading.Event], Script]:
    """JSON nested 100,000 levels where the protocol carries JSON from the server."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        if protocol == "connect":
            head = [(b":status", b"400"), (b"content-type", b"application/json")]
            _respond(conn, stream, head, DEEP, None)
            return
        # gRPC and gRPC-Web carry no JSON: a status message of brackets instead.
        _status_only(conn, stream, protocol, [(b"grpc-status", b"13"), (b"grpc-message", DEEP[:8000])])

    return h2_server(protocol, act)


def long_numbers(protocol: str) -> Callable[[threading.Event], Script]:
    """A status of 5,000 digits (grpc-status; a Connect error code and message fields)."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        if protocol == "connect":
            head = [(b":status", b"500"), (b"content-type", b"application/json")]
            body = b'{"code": ' + LONG + b', "message": "m", "details": [{"type": ' + LONG + b"}]}"
            _respond(conn, stream, head, body, None)
            return
        _status_only(conn, stream, protocol, [(b"grpc-status", LONG), (b"grpc-message", LONG)])

    return h2_server(protocol, act)


KINDS: dict[str, Callable[[str], Callable[[threading.Event], Script]]] = {
    "garbage": garbage,
    "stall-after-settings": stall,
    "drip": drip,
    "4gib-prefix": huge_prefix,
    "1mib-header": big_header,
    "rst-mid-message": reset_mid_message,
    "goaway": goaway,
    "half-message": half_message,
    "html-502": html_502,
    "gzip-bomb": gzip_bomb,
    "bad-status": bad_status,
    "deep-json": deep_json,
    "long-numbers": long_numbers,
}


def end_stream(payload: bytes) -> Callable[[threading.Event], Script]:
    """A Connect streaming answer: one empty message, then an end-stream frame of ``payload``."""

    def act(
        conn: h2.connection.H2Connection, sock: socket.socket, stream: int, stop: threading.Event
    ) -> None:
        head = [(b":status", b"200"), (b"content-type", b"application/connect+proto")]
        _respond(conn, stream, head, envelope(b"") + envelope(payload, 0x02), None)

    return h2_server("connect", act)


END_STREAMS = {
    "deep-end-stream": DEEP,
    "long-number-end-stream": b'{"error": {"code": "internal", "message": ' + LONG + b"}}",
    "long-code-end-stream": b'{"error": {"code": "' + b"x" * 100_000 + b'"}}',
    "deep-metadata-end-stream": b'{"metadata": {"x": ' + DEEP[:20_000] + b"}}",
}
