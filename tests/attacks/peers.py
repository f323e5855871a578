"""Scripted attackers: raw sockets on 127.0.0.1 speaking just enough HTTP/2 (or HTTP/1.1) to hurt.

Each attack writes its bytes while reading what the server answers, and returns an `Outcome`:
the error code of the server's GOAWAY (RFC 9113 §6.8) if one came, and whether the server
closed the connection. Every loop is bounded by a byte count and a deadline.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import hpack

from rpcctl.transport.h2_codes import ErrorCode
from rpcctl.transport.h2_frames import (
    CANCEL,
    CONTINUATION,
    DATA,
    ENHANCE_YOUR_CALM,
    FLAG_END_HEADERS,
    FRAME_SIZE_ERROR,
    GOAWAY,
    GOAWAY_HEAD,
    HEAD,
    HEADERS,
    NO_ERROR,
    PREFACE,
    RST_STREAM,
    SETTINGS,
    U32,
)

__all__ = ["ENHANCE_YOUR_CALM", "FRAME_SIZE_ERROR", "NO_ERROR", "PREFACE", "SETTINGS", "Outcome"]

PING_PATH = "/pkg.proto.runner.v1.RunnerService/Ping"
CHUNK = 64 * 1024
REFUSED = int(ErrorCode.REFUSED_STREAM)


@dataclass
class Outcome:
    """What the server did to one attacking connection."""

    goaway: int | None = None  # error code of its GOAWAY, None if it sent none
    closed: bool = False  # it closed (or reset) the connection before the deadline
    sent: int = 0  # bytes the attacker got out
    received: bytes = b""  # everything the server wrote (HTTP/1.1 answers)
    refused: int = 0  # streams the server refused with RST_STREAM(REFUSED_STREAM)


def frame(kind: int, flags: int, stream: int, payload: bytes = b"", length: int | None = None) -> bytes:
    """One HTTP/2 frame; `length` overrides the declared payload length (RFC 9113 §4.1)."""
    declared = len(payload) if length is None else length
    return HEAD.pack(declared >> 8, declared & 0xFF, kind, flags, stream) + payload


def request_headers(address: tuple[str, int], path: str = PING_PATH) -> bytes:
    """An HPACK block for a native gRPC request (a fresh encoder each time: no shared state)."""
    pairs = [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", f"{address[0]}:{address[1]}"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]
    return bytes(hpack.Encoder().encode(pairs))


def frames(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, payload) of each whole frame in `data`."""
    offset = 0
    while offset + HEAD.size <= len(data):
        high, low, kind, _flags, _stream = HEAD.unpack_from(data, offset)
        length = high << 8 | low
        yield kind, data[offset + HEAD.size : offset + HEAD.size + length]
        offset += HEAD.size + length


def goaway_code(data: bytes) -> int | None:
    """The error code of the first GOAWAY among the frames in `data`."""
    for kind, payload in frames(data):
        if kind == GOAWAY and len(payload) >= GOAWAY_HEAD.size:
            return int(GOAWAY_HEAD.unpack_from(payload)[1])
    return None


def exchange(
    address: tuple[str, int], chunks: Iterable[bytes], *, linger: float, deadline: float, pause: float = 0.0
) -> Outcome:
    """Write `chunks` (waiting `pause` s between them) while reading; then read for `linger` s.

    Stops early when the server closes the connection; never runs past `deadline` s.
    """
    out = Outcome()
    end = time.monotonic() + deadline
    received = bytearray()
    pending = iter(chunks)
    current: bytes | None = b""
    next_chunk = time.monotonic()
    linger_end = end
    with socket.create_connection(address, timeout=5) as sock, selectors.DefaultSelector() as selector:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        while not out.closed and time.monotonic() < min(end, linger_end):
            now = time.monotonic()
            if current == b"" and now >= next_chunk:
                current = next(pending, None)
                next_chunk = now + pause
                if current is None:
                    linger_end = now + linger
            if current:
                try:
                    written = sock.send(current)
                except BlockingIOError:
                    written = 0
                except OSError:  # the server closed: what it said before is still to be read
                    out.closed = True
                    received += _drain(sock)
                    break
                current = current[written:]
                out.sent += written
            if selector.select(timeout=0.01 if current else 0.05):
                try:
                    data = sock.recv(CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                out.closed = not data
                received += data
    out.received = bytes(received)
    if not received.startswith(b"HTTP/1."):
        out.goaway = goaway_code(out.received)
        out.refused = sum(
            1 for kind, p in frames(out.received) if kind == RST_STREAM and p == U32.pack(REFUSED)
        )
    return out


def _drain(sock: socket.socket) -> bytes:
    """What is left to read on a socket the peer closed."""
    left = bytearray()
    try:
        while data := sock.recv(CHUNK):
            left += data
    except OSError:
        pass
    return bytes(left)


def oversized_data(
    address: tuple[str, int], *, declared: int = 2**24 - 1, send: int = 15 * 2**20, deadline: float = 30
) -> Outcome:
    """A request whose DATA frame declares `declared` bytes (over the 16 KiB the server allows)."""

    def chunks() -> Iterator[bytes]:
        yield PREFACE + frame(SETTINGS, 0, 0)
        yield frame(HEADERS, FLAG_END_HEADERS, 1, request_headers(address))
        yield frame(DATA, 0, 1, length=declared)
        for offset in range(0, send, CHUNK):
            yield b"\0" * min(CHUNK, send - offset)

    return exchange(address, chunks(), linger=5, deadline=deadline)


def rapid_reset(address: tuple[str, int], *, streams: int = 5000, deadline: float = 30) -> Outcome:
    """`streams` HEADERS each followed by RST_STREAM(CANCEL), all in one write (CVE-2023-44487)."""
    block = request_headers(address)
    burst = bytearray(PREFACE + frame(SETTINGS, 0, 0))
    for n in range(streams):
        stream = 2 * n + 1
        burst += frame(HEADERS, FLAG_END_HEADERS, stream, block)
        burst += frame(RST_STREAM, 0, stream, U32.pack(CANCEL))
    return exchange(address, [bytes(burst)], linger=5, deadline=deadline)


def open_streams(address: tuple[str, int], *, streams: int = 100, hold: float = 3) -> Outcome:
    """`streams` requests whose bodies never come, held open for `hold` s, then dropped."""
    block = request_headers(address)
    burst = bytearray(PREFACE + frame(SETTINGS, 0, 0))
    for n in range(streams):
        burst += frame(HEADERS, FLAG_END_HEADERS, 2 * n + 1, block)
    return exchange(address, [bytes(burst)], linger=hold, deadline=hold + 10)


def slow_h2_headers(address: tuple[str, int], *, deadline: float, pause: float = 0.5) -> Outcome:
    """A HEADERS frame without END_HEADERS, then its block one byte per `pause` s (never ending)."""
    block = request_headers(address)

    def chunks() -> Iterator[bytes]:
        yield PREFACE + frame(SETTINGS, 0, 0)
        yield frame(HEADERS, 0, 1, block[:4])  # no END_HEADERS: a CONTINUATION must follow
        yield frame(CONTINUATION, FLAG_END_HEADERS, 1, length=len(block) - 4)
        for byte in block[4:]:
            yield bytes([byte])

    return exchange(address, chunks(), linger=0, deadline=deadline, pause=pause)


def slow_h1_headers(address: tuple[str, int], *, deadline: float, pause: float = 0.5) -> Outcome:
    """An HTTP/1.1 request line, then one header line per `pause` s, never the blank line."""

    def chunks() -> Iterator[bytes]:
        yield b"POST /pkg.proto.runner.v1.RunnerService/Ping HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for n in range(100_000):
            yield f"X-Slow-{n}: {n}\r\n".encode()

    return exchange(address, chunks(), linger=0, deadline=deadline, pause=pause)


def idle(address: tuple[str, int], *, deadline: float, http2: bool = True) -> Outcome:
    """A connection that says nothing after the HTTP/2 preface (or nothing at all)."""
    first = PREFACE + frame(SETTINGS, 0, 0) if http2 else b""
    return exchange(address, [first] if first else [], linger=deadline, deadline=deadline)
