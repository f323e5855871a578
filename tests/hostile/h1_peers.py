"""Hostile HTTP/1.1 servers for `rpcctl call` over gRPC-Web and Connect (the protocols that run
over HTTP/1.1): one request read, one scripted answer written (tests/hostile/peers.py has the
HTTP/2 ones). Every wait is bounded."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from tests.cli.raw_peers import Script, read_some
from tests.hostile.peers import DEEP, LONG, content_type, message_body, ok_end


def h1_server(answer: bytes, *, then_close: bool = True) -> Callable[[threading.Event], Script]:
    """An HTTP/1.1 server that reads one request (headers and content-length body) and
    answers with ``answer`` verbatim, then closes (or keeps the connection open)."""

    def make(stop: threading.Event) -> Script:
        def script(sock: socket.socket) -> None:
            data = b""
            for _ in range(64):
                if b"\r\n\r\n" in data:
                    break
                chunk = read_some(sock, 1, limit=2.0) + _available(sock)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(v)
                    for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                    if k.lower() == b"content-length"
                ),
                0,
            )
            if len(body) < length:
                read_some(sock, length - len(body), limit=2.0)
            sock.sendall(answer)
            if not then_close:
                read_some(sock, 1 << 16, limit=2.0)

        return script

    return make


def _available(sock: socket.socket) -> bytes:
    sock.settimeout(0.05)
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _h1(status: bytes, headers: list[bytes], body: bytes) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def h1_kinds(protocol: str) -> dict[str, Callable[[threading.Event], Script]]:
    """HTTP/1.1 answers for Connect and gRPC-Web (the protocols that run over HTTP/1.1)."""
    ctype = b"content-type: " + content_type(protocol)
    message = message_body(protocol, b"\x0a\x40" + b"x" * 64)
    tail = ok_end(protocol)[0]
    # Connect: the declared length alone is past the cap; gRPC-Web: a 4 GiB prefix as well.
    huge = b"\x00" * 1024 if protocol == "connect" else b"\x00\xff\xff\xff\xff" + b"\x00" * 1024
    return {
        "garbage": h1_server(b"\x00\x01\x02 not HTTP at all\r\n\r\n" * 20),
        "html-502": h1_server(
            _h1(
                b"502 Bad Gateway",
                [b"content-type: text/html", b"content-length: 30"],
                b"<html>502 Bad Gateway</html>\n\n",
            )
        ),
        "half-message": h1_server(
            _h1(b"200 OK", [ctype, b"content-length: %d" % len(message)], message[:25])
        ),
        "4gib-length": h1_server(
            _h1(b"200 OK", [ctype, b"content-length: 4294967295"], huge), then_close=False
        ),
        "bad-status": h1_server(_h1(b"2x0 Odd", [ctype, b"content-length: 0"], b"")),
        "bad-chunk": h1_server(
            _h1(b"200 OK", [ctype, b"transfer-encoding: chunked"], b"zz\r\n" + message + tail)
        ),
        "deep-json": h1_server(
            _h1(
                b"400 Bad Request",
                [b"content-type: application/json", b"content-length: %d" % len(DEEP)],
                DEEP,
            )
        ),
        "chunk-overflow": h1_server(
            _h1(b"200 OK", [ctype, b"transfer-encoding: chunked"], b"f" * 40 + b"\r\n")
        ),
        "chunk-ext-flood": h1_server(
            _h1(
                b"200 OK",
                [ctype, b"transfer-encoding: chunked"],
                b"1;" + b"a" * 200_000 + b"\r\nx\r\n0\r\n\r\n",
            )
        ),
        "10k-headers": h1_server(
            _h1(b"200 OK", [ctype, b"content-length: 0"] + [b"x-h%d: v" % i for i in range(10_000)], b"")
        ),
        "long-status-line": h1_server(b"HTTP/1.1 200 " + b"O" * 2_000_000, then_close=False),
        "obs-fold": h1_server(_h1(b"200 OK", [ctype, b"x-a: a", b" folded", b"content-length: 0"], b"")),
        "conflicting-length": h1_server(
            _h1(b"200 OK", [ctype, b"content-length: 5", b"content-length: 6"], b"x" * 6)
        ),
        "10mb-error": h1_server(
            _h1(
                b"500 Oops",
                [b"content-type: application/json"],
                b'{"code": "internal", "message": "' + b"x" * 10_000_000 + b'"}',
            )
        ),
        "long-numbers": h1_server(
            _h1(
                b"500 Oops",
                [b"content-type: application/json", b"content-length: %d" % (len(LONG) + 10)],
                b'{"code": ' + LONG + b"}",
            )
        ),
    }
