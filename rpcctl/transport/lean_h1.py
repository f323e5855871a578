"""A lean HTTP/1.1 keep-alive client for prebuilt requests: `rpcctl bench`'s unary hot path.

Only what a load generator needs: the caller hands over the complete request bytes (request
line, headers, content-length, body; see `build_request`), one request at a time per
connection, no pipelining. The response is parsed by hand in `data_received`: status line,
headers up to CRLFCRLF, then a content-length, chunked or read-until-close body. Every part
is bounded (`Limits`), so a bad server ends a call with an error instead of a hang or an
unbounded buffer. Measured against httpx on a static nginx (HTTP/1.1 POST, 50 in flight): a
few tens of µs of client CPU per request instead of ~1.5 ms.

Errors are rpcctl's own: `TransportError` when no connection can be made, `RpcError`
UNAVAILABLE when one breaks or the server's bytes are not HTTP/1.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from rpcctl.errors import RpcError, TransportError
from rpcctl.transport.endpoint import Endpoint
from rpcctl.wire.status import Code

CRLF = b"\r\n"
HEAD_END = b"\r\n\r\n"
# States of the response parser.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS, _UNTIL_CLOSE = range(7)


@dataclass(frozen=True)
class Limits:
    """How much of a response the client accepts before it gives up on the connection."""

    max_head: int = 64 * 1024  # status line and headers
    max_headers: int = 100
    max_body: int = 4 * 1024 * 1024 + 64 * 1024
    max_line: int = 4096  # a chunk-size line or a chunked trailer line


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response: status, headers (names lowercase, bytes) and the whole body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lowercase), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


class BadResponse(Exception):
    """The server's bytes are not a valid (or acceptable) HTTP/1.1 response."""

    def __init__(self, message: str, code: Code = Code.UNAVAILABLE) -> None:
        super().__init__(message)
        self.code = code


def _too_large(limit: int) -> BadResponse:
    return BadResponse(f"response body larger than {limit} bytes", Code.RESOURCE_EXHAUSTED)


def build_request(
    method: str, path: str, host: str, headers: Iterable[tuple[str, str]], body: bytes
) -> bytes:
    """The bytes of one request: request line, Host, headers, content-length, body."""
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}"]
    for name, value in headers:
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise ValueError(f"invalid header {name!r}")
        lines.append(f"{name}: {value}")
    if body or method != "GET":
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class H1Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: sends a prebuilt request, parses its response."""

    def __init__(self, limits: Limits, address: str) -> None:
        self.limits = limits
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = True
        self.used = False
        self.received = 0  # response bytes received for the request in flight
        self._waiter: asyncio.Future[Response] | None = None
        self._buf = bytearray()
        self._state = _HEAD
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._remaining = 0
        self._body = bytearray()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        """Parse what arrived; complete the request in flight when its response is whole."""
        waiter = self._waiter
        if waiter is None or waiter.done():
            self._abort()  # bytes nobody asked for: the connection cannot be trusted
            return
        self.received += len(data)
        if self._state == _HEAD and not self._buf:
            # The common case: a whole small response in one read, parsed without copies.
            end = data.find(HEAD_END)
            if end >= 0 and end <= self.limits.max_head:
                try:
                    self._parse_head(data[:end])
                except BadResponse as exc:
                    self._fail(exc)
                    return
                if self._state == _LENGTH and len(data) - end - 4 == self._remaining:
                    self._complete(data[end + 4 :] if self._remaining else b"")
                    return
                self._buf += data[end + 4 :]
                self._run()
                return
        self._buf += data
        self._run()

    def eof_received(self) -> bool | None:
        """A body read until close ends here; anything else in flight is a broken call."""
        self.reusable = False
        if self._waiter is not None and not self._waiter.done() and self._state == _UNTIL_CLOSE:
            self._complete(bytes(self._body))
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail the request in flight, if any."""
        self.closed = True
        self.reusable = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if self._state == _UNTIL_CLOSE and exc is None:
                self._complete(bytes(self._body))
                return
            reason = str(exc) if exc is not None else "the server closed the connection"
            waiter.set_exception(ConnectionLost(reason))

    # the client side

    def send(self, request: bytes) -> asyncio.Future[Response]:
        """Write one request; the future completes with its response."""
        assert self.transport is not None
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        self.received = 0
        self.used = True
        self.transport.write(request)
        return waiter

    def close(self) -> None:
        """Close the connection (aborting a request in flight)."""
        self.reusable = False
        if self.transport is not None and not self.closed:
            self.transport.abort()

    # parsing

    def _run(self) -> None:
        try:
            self._parse()
        except BadResponse as exc:
            self._fail(exc)

    def _parse(self) -> None:
        buf = self._buf
        limits = self.limits
        while True:
            state = self._state
            if state == _HEAD:
                end = buf.find(HEAD_END)
                if end < 0:
                    if len(buf) > limits.max_head:
                        raise BadResponse(f"response head larger than {limits.max_head} bytes")
                    return
                if end > limits.max_head:
                    raise BadResponse(f"response head larger than {limits.max_head} bytes")
                head = bytes(buf[:end])
                del buf[: end + 4]
                self._parse_head(head)
            elif state == _LENGTH:
                if len(buf) < self._remaining:
                    return
                body = bytes(buf[: self._remaining])
                del buf[: self._remaining]
                self._complete(body)
                return
            elif state == _CHUNK_SIZE:
                end = buf.find(CRLF)
                if end < 0:
                    if len(buf) > limits.max_line:
                        raise BadResponse("chunk-size line too long")
                    return
                line = bytes(buf[:end]).split(b";", 1)[0].strip()
                del buf[: end + 2]
                if not line or len(line) > 16 or not _is_hex(line):
                    raise BadResponse(f"invalid chunk size {line[:40]!r}")
                size = int(line, 16)
                if size == 0:
                    self._state = _TRAILERS
                    continue
                if len(self._body) + size > limits.max_body:
                    raise _too_large(limits.max_body)
                self._remaining = size
                self._state = _CHUNK_DATA
            elif state == _CHUNK_DATA:
                take = min(self._remaining, len(buf))
                if not take:
                    return
                self._body += buf[:take]
                del buf[:take]
                self._remaining -= take
                if self._remaining:
                    return
                self._state = _CHUNK_CRLF
            elif state == _CHUNK_CRLF:
                if len(buf) < 2:
                    if buf and buf[0] != 13:  # not CR
                        raise BadResponse("chunk not followed by CRLF")
                    return
                if buf[:2] != CRLF:
                    raise BadResponse("chunk not followed by CRLF")
                del buf[:2]
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = buf.find(CRLF)
                if end < 0:
                    if len(buf) > limits.max_line:
                        raise BadResponse("chunked trailer line too long")
                    return
                del buf[: end + 2]
                if end == 0:
                    self._complete(bytes(self._body))
                    return
            else:  # _UNTIL_CLOSE
                if len(self._body) + len(buf) > limits.max_body:
                    raise _too_large(limits.max_body)
                self._body += buf
                buf.clear()
                return

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
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise BadResponse(f"invalid response header line {line[:80]!r}")
            name = name.lower()
            value = value.strip()
            headers.append((name, value))
            if name == b"content-length":
                if length is not None and value != length:
                    raise BadResponse("conflicting content-length headers")
                length = value
            elif name == b"transfer-encoding":
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
            self.reusable = False
        self._status = status
        self._headers = headers
        self._body = bytearray()
        if status in (204, 304):
            self._state, self._remaining = _LENGTH, 0
        elif chunked:
            self._state = _CHUNK_SIZE
        elif length is not None:
            if not length.isdigit() or len(length) > 12:
                raise BadResponse(f"invalid content-length {length[:40]!r}")
            self._remaining = int(length)
            if self._remaining > self.limits.max_body:
                raise _too_large(self.limits.max_body)
            self._state = _LENGTH
        else:
            self.reusable = False
            self._state = _UNTIL_CLOSE

    def _complete(self, body: bytes) -> None:
        response = Response(self._status, self._headers, body)
        self._state = _HEAD
        self._headers = []
        waiter = self._waiter
        self._waiter = None
        if self._buf:  # more bytes than one response: nothing was asked for them
            self._buf.clear()
            self.reusable = False
        if not self.reusable:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def _fail(self, exc: BadResponse) -> None:
        waiter = self._waiter
        self._abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _abort(self) -> None:
        self._buf.clear()
        self._body = bytearray()
        self.close()


class ConnectionLost(Exception):
    """The connection closed before the response was whole."""


def _is_hex(text: bytes) -> bool:
    return all(c in b"0123456789abcdefABCDEF" for c in text)


class H1Pool:
    """Keep-alive connections to one server, one request in flight on each.

    `request` takes an idle connection or opens one (so N concurrent requests use N
    connections), and puts it back after a clean response the server did not ask to close.
    """

    def __init__(self, endpoint: Endpoint, *, limits: Limits | None = None) -> None:
        self.endpoint = endpoint
        self.address = endpoint.address
        self.limits = limits or Limits()
        self.connections_opened = 0
        self._idle: list[H1Connection] = []
        self._all: set[H1Connection] = set()
        self._closed = False

    async def request(self, data: bytes) -> Response:
        """Send one prebuilt request and return its whole response.

        A request on a reused connection that the server closed before answering a single
        byte (its keep-alive ended) is sent once more on a new connection.
        """
        conn = self._take_idle()
        reused = conn is not None
        if conn is None:
            conn = await self._open()
        try:
            response = await self._exchange(conn, data)
        except ConnectionLost as exc:
            if not (reused and conn.received == 0):
                raise self._broken(str(exc)) from None
            conn = await self._open()
            try:
                response = await self._exchange(conn, data)
            except ConnectionLost as again:
                raise self._broken(str(again)) from None
        if conn.reusable and not conn.closed and not self._closed:
            self._idle.append(conn)
        else:
            self._forget(conn)
        return response

    async def _exchange(self, conn: H1Connection, data: bytes) -> Response:
        try:
            return await conn.send(data)
        except BadResponse as exc:
            self._forget(conn)
            raise RpcError(exc.code, f"bad HTTP/1.1 response from {self.address}: {exc}") from None
        except ConnectionLost:
            self._forget(conn)
            raise
        except BaseException:  # cancelled (deadline): the response is still coming
            conn.close()
            self._forget(conn)
            raise

    def _take_idle(self) -> H1Connection | None:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.reusable and not conn.closed:
                return conn
            self._forget(conn)
        return None

    def _forget(self, conn: H1Connection) -> None:
        conn.close()
        self._all.discard(conn)

    def _broken(self, reason: str) -> RpcError:
        return RpcError(Code.UNAVAILABLE, f"connection to {self.address} broke: {reason}")

    async def _open(self) -> H1Connection:
        if self._closed:
            raise TransportError(f"connection pool to {self.address} is closed")

        def factory() -> H1Connection:
            return H1Connection(self.limits, self.address)

        _, conn = await self.endpoint.connect(factory)
        self.connections_opened += 1
        self._all.add(conn)
        return conn

    async def aclose(self) -> None:
        """Close every connection."""
        self._closed = True
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports run their connection_lost
