"""A sans-IO HTTP/1.1 response parser: bytes in, head / body pieces / end out (RFC 9112).

`ResponseParser.feed` takes bytes in any split and calls its `ResponseSink`: `on_head` once
per final response (1xx interim responses are skipped, RFC 9112 §6 / RFC 9110 §15.2), `on_data`
for each body piece as it arrives (content-length, chunked per RFC 9112 §7.1, or read until
close), and `on_end` with the chunked trailer fields. Body bytes are passed through, never
gathered here, so a long server stream costs no memory in the parser; only the head and
chunk-size and trailer lines are buffered, each bounded by `Limits`.

Before the first status line is accepted, the first bytes are checked for the two usual wrong
servers, so the error says what to do instead of "not HTTP": an HTTP/2 frame header (a
cleartext server that speaks only h2c answers an HTTP/1.1 request with its SETTINGS and a
GOAWAY, RFC 9113 §3.4 and §6.5), or a TLS record header (content type 21 alert or 22
handshake, then major version 3, RFC 8446 §5.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rpcctl.transport.first_bytes import H2_SETTINGS, TLS_RECORD_TYPES, looks_like_tls
from rpcctl.wire.status import Code

CRLF = b"\r\n"
HEAD_END = b"\r\n\r\n"
STATUS_PREFIX = b"HTTP/"
# HTTP/2 frame types a server sends first on a connection it cannot serve (RFC 9113 §6).
H2_GOAWAY = 0x7
H2_FRAME_HEADER = 9
SNIPPET = 32  # bytes of a wrong answer shown in the error
# Parser states.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


@dataclass(frozen=True)
class Limits:
    """How much of a response the client accepts before it gives up on the connection.

    ``max_body`` caps a body gathered whole (`H1Pool.request`); a streamed exchange's body is
    not capped (a server stream may be long), only what is buffered unread.
    """

    max_head: int = 64 * 1024  # status line and headers
    max_headers: int = 100  # header fields, and chunked trailer fields
    max_body: int = 4 * 1024 * 1024 + 64 * 1024
    max_line: int = 4096  # a chunk-size line or a chunked trailer line


class BadResponse(Exception):
    """The server's bytes are not a valid (or acceptable) HTTP/1.1 response."""

    def __init__(self, message: str, code: Code = Code.UNAVAILABLE) -> None:
        super().__init__(message)
        self.code = code


class NotHttp1(BadResponse):
    """The server answered in another protocol: ``speaks`` is ``"h2c"`` or ``"tls"``."""

    def __init__(self, speaks: str) -> None:
        super().__init__(f"the server speaks {speaks}")
        self.speaks = speaks


class ResponseSink(Protocol):
    """Receives what `ResponseParser` finds."""

    def on_head(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """The final response's status and headers (names lowercase)."""

    def on_data(self, data: bytes) -> None:
        """A piece of the body."""

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        """The response is complete; ``trailers`` are the chunked trailer fields, if any."""


def too_large(limit: int) -> BadResponse:
    """The error for a body over ``limit`` bytes."""
    return BadResponse(f"response body larger than {limit} bytes", Code.RESOURCE_EXHAUSTED)


def _is_hex(text: bytes) -> bool:
    return all(c in b"0123456789abcdefABCDEF" for c in text)


def sniff(start: bytes) -> None:
    """Raise if the first response bytes are plainly not HTTP/1.x; return if they may be.

    Returns while too few bytes have arrived to tell.
    """
    if start[: len(STATUS_PREFIX)] == STATUS_PREFIX[: len(start)]:
        return  # HTTP/1.x so far
    if looks_like_tls(start):
        raise NotHttp1("tls")
    if len(start) >= H2_FRAME_HEADER:
        length = int.from_bytes(start[:3], "big")
        kind = start[3]
        stream = int.from_bytes(start[5:9], "big") & 0x7FFFFFFF
        settings_ok = kind == H2_SETTINGS and length % 6 == 0
        if (settings_ok or kind == H2_GOAWAY) and stream == 0 and length <= 16384:
            raise NotHttp1("h2c")
        raise BadResponse(f"not an HTTP/1.1 status line: {_snippet(start)}")
    if start[0] not in (0x00, *TLS_RECORD_TYPES):  # an h2 frame length starts with 0
        raise BadResponse(f"not an HTTP/1.1 status line: {_snippet(start)}")


def _snippet(data: bytes) -> str:
    """A short look at unexpected bytes: text when printable, hex otherwise."""
    head = data[:SNIPPET]
    if all(32 <= c < 127 or c in (9, 10, 13) for c in head):
        return repr(head.decode("ascii"))
    return head.hex(" ")


class ResponseParser:
    """Parses one response after another on one connection (no pipelining)."""

    def __init__(self, limits: Limits, sink: ResponseSink) -> None:
        self.limits = limits
        self.sink = sink
        self.max_body: int | None = limits.max_body  # None: a streamed body, not capped
        self.keep_alive = True  # False once a response said the connection ends with it
        self.received = 0  # bytes of the response in progress
        self._buf = bytearray()
        self._state = _HEAD
        self._remaining = 0
        self._body_size = 0
        self._trailers: list[tuple[bytes, bytes]] = []
        self._sniffed = False

    @property
    def until_close(self) -> bool:
        """Whether the body in progress ends when the connection closes."""
        return self._state == _UNTIL_CLOSE

    @property
    def done(self) -> bool:
        """Whether the response in progress is complete."""
        return self._state == _DONE

    def reset(self, sink: ResponseSink, max_body: int | None) -> None:
        """Expect the next response, delivered to ``sink``."""
        self.sink = sink
        self.max_body = max_body
        self.received = 0
        self._state = _HEAD
        self._body_size = 0
        self._trailers = []
        self._sniffed = False
        self._buf.clear()

    def feed(self, data: bytes) -> bool:
        """Parse ``data``; raise `BadResponse`. True if bytes were left after the response."""
        self.received += len(data)
        if self._buf:
            self._buf += data
            data = bytes(self._buf)
            self._buf.clear()
        pos = self._run(data, 0)
        if pos < len(data):
            if self._state == _DONE:
                return True
            self._buf += data[pos:]
        return False

    def feed_eof(self) -> bool:
        """The server closed: True if that ended the response (a body read until close)."""
        if self._state == _UNTIL_CLOSE:
            self._state = _DONE
            self.sink.on_end([])
            return True
        start = bytes(self._buf[:SNIPPET])
        if self._state == _HEAD and start and not self._sniffed:
            sniff(start)
            if not STATUS_PREFIX.startswith(start[: len(STATUS_PREFIX)]):
                raise BadResponse(f"not an HTTP/1.1 status line: {_snippet(start)}")
        return self._state == _DONE

    def _run(self, data: bytes, pos: int) -> int:
        """Parse from ``pos``; the position of the first byte not consumed."""
        limits = self.limits
        size = len(data)
        while pos < size:
            state = self._state
            if state == _HEAD:
                if not self._sniffed:
                    if not data.startswith(STATUS_PREFIX, pos):
                        sniff(data[pos : pos + SNIPPET])
                        return pos  # too few bytes yet to tell
                    self._sniffed = True
                end = data.find(HEAD_END, pos)
                if end < 0 or end - pos > limits.max_head:
                    if size - pos > limits.max_head:
                        raise BadResponse(f"response head larger than {limits.max_head} bytes")
                    return pos
                self._parse_head(data[pos:end])
                pos = end + 4
            elif state in (_LENGTH, _CHUNK_DATA):
                take = min(self._remaining, size - pos)
                if take:
                    self.sink.on_data(data[pos : pos + take] if pos or take < size else data)
                    pos += take
                    self._remaining -= take
                if self._remaining:
                    return pos
                if state == _LENGTH:
                    self._finish()
                else:
                    self._state = _CHUNK_CRLF
            elif state == _CHUNK_SIZE:
                end = data.find(CRLF, pos)
                if end < 0:
                    if size - pos > limits.max_line:
                        raise BadResponse("chunk-size line too long")
                    return pos
                line = data[pos:end].split(b";", 1)[0].strip()
                pos = end + 2
                if not line or len(line) > 16 or not _is_hex(line):
                    raise BadResponse(f"invalid chunk size {line[:40]!r}")
                chunk = int(line, 16)
                if chunk == 0:
                    self._state = _TRAILERS
                    continue
                self._count(chunk)
                self._remaining = chunk
                self._state = _CHUNK_DATA
            elif state == _CHUNK_CRLF:
                if size - pos < 2:
                    if data[pos] != 13:  # not CR
                        raise BadResponse("chunk not followed by CRLF")
                    return pos
                if data[pos : pos + 2] != CRLF:
                    raise BadResponse("chunk not followed by CRLF")
                pos += 2
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = data.find(CRLF, pos)
                if end < 0:
                    if size - pos > limits.max_line:
                        raise BadResponse("chunked trailer line too long")
                    return pos
                line = data[pos:end]
                pos = end + 2
                if not line:
                    self._finish()
                    continue
                if len(self._trailers) >= limits.max_headers:
                    raise BadResponse(f"more than {limits.max_headers} trailer fields")
                self._trailers.append(_field(line))
            elif state == _UNTIL_CLOSE:
                self._count(size - pos)
                self.sink.on_data(data[pos:] if pos else data)
                return size
            else:  # _DONE: bytes after the response, which nobody asked for
                return pos
        return pos

    def _count(self, more: int) -> None:
        self._body_size += more
        if self.max_body is not None and self._body_size > self.max_body:
            raise too_large(self.max_body)

    def _finish(self) -> None:
        self._state = _DONE
        self.sink.on_end(self._trailers)

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(CRLF)
        status_line = lines[0]
        if not status_line.startswith(b"HTTP/1.") or len(status_line) < 12:
            raise BadResponse(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
        code = status_line[9:12]
        if not code.isdigit() or (len(status_line) > 12 and status_line[12:13] != b" "):
            raise BadResponse(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
        if len(lines) > self.limits.max_headers + 1:
            raise BadResponse(f"more than {self.limits.max_headers} response headers")
        status = int(code)
        headers: list[tuple[bytes, bytes]] = []
        length: bytes | None = None
        chunked = False
        keep_alive = status_line[7:8] == b"1"  # HTTP/1.1; HTTP/1.0 only with keep-alive
        for line in lines[1:]:
            name, value = _field(line)
            headers.append((name, value))
            if name == b"content-length":
                if length is not None and value != length:
                    raise BadResponse("conflicting content-length headers")
                length = value
            elif name == b"transfer-encoding":
                # RFC 9112 §6.1: chunked must be the final coding; no other is supported.
                chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
                if not chunked:
                    raise BadResponse(f"unsupported transfer-encoding {value[:40]!r}")
            elif name == b"connection":
                tokens = {token.strip() for token in value.lower().split(b",")}
                if b"close" in tokens:
                    keep_alive = False
                elif b"keep-alive" in tokens:
                    keep_alive = True
        if 100 <= status < 200:
            if status == 101:
                raise BadResponse("unexpected 101 Switching Protocols")
            return  # an interim response: the real one follows
        if not keep_alive:
            self.keep_alive = False
        if status in (204, 304):
            self._state, self._remaining = _LENGTH, 0
        elif chunked:  # RFC 9112 §6.3: chunked wins over content-length
            self._state = _CHUNK_SIZE
        elif length is not None:
            if not length.isdigit() or len(length) > 15:
                raise BadResponse(f"invalid content-length {length[:40]!r}")
            self._remaining = int(length)
            if self.max_body is not None and self._remaining > self.max_body:
                raise too_large(self.max_body)
            self._state = _LENGTH
        else:
            self.keep_alive = False
            self._state = _UNTIL_CLOSE
        self.sink.on_head(status, headers)
        if self._state == _LENGTH and not self._remaining:
            self._finish()


def _field(line: bytes) -> tuple[bytes, bytes]:
    """One ``name: value`` line, name lowercased; `BadResponse` if malformed."""
    name, sep, value = line.partition(b":")
    if not sep or not name or name != name.strip():
        raise BadResponse(f"invalid response header line {line[:80]!r}")
    return name.lower(), value.strip()
