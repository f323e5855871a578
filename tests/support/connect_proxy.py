"""A small HTTP CONNECT proxy on 127.0.0.1 port 0 for tests: counts tunnels, can refuse.

It answers ``CONNECT host:port`` by connecting to the target and relaying bytes both ways
(RFC 9110 §9.3.6). ``refuse`` makes it answer every CONNECT with that status instead;
``credentials`` (``user:password``) makes it demand Basic ``Proxy-Authorization`` (407 without).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus

from tests.support.loopback import serving

MAX_HEAD = 16 * 1024


@dataclass
class ProxyRequest:
    """One CONNECT request as the proxy received it."""

    target: str
    headers: dict[str, str]


@dataclass
class ConnectProxy:
    """The proxy; ``tunnels`` counts the tunnels it opened, ``requests`` every CONNECT it read."""

    refuse: int | None = None
    credentials: str | None = None
    tunnels: int = 0
    requests: list[ProxyRequest] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, for HTTPS_PROXY / HTTP_PROXY."""
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            self.requests.append(ProxyRequest(target, headers))
            status = self._verdict(method, headers)
            if status is not None:
                await _answer(writer, status)
                return
            host, _, port = target.rpartition(":")
            try:
                up_reader, upstream = await asyncio.open_connection(host.strip("[]"), int(port))
            except OSError:
                await _answer(writer, HTTPStatus.BAD_GATEWAY)
                return
            self.tunnels += 1
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pump(reader, upstream), _pump(up_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            for each in (writer, upstream):
                if each is not None:
                    each.close()
                    with contextlib.suppress(ConnectionError):
                        await each.wait_closed()

    def _verdict(self, method: str, headers: dict[str, str]) -> HTTPStatus | None:
        if method != "CONNECT":
            return HTTPStatus.METHOD_NOT_ALLOWED
        if self.refuse is not None:
            return HTTPStatus(self.refuse)
        if self.credentials is not None:
            expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
            if headers.get("proxy-authorization") != expected:
                return HTTPStatus.PROXY_AUTHENTICATION_REQUIRED
        return None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ConnectProxy]:
        """Listen on 127.0.0.1 port 0 until the block ends, then drop every tunnel."""
        async with serving(self._serve, limit=MAX_HEAD) as self.port:
            yield self


async def _answer(writer: asyncio.StreamWriter, status: HTTPStatus) -> None:
    writer.write(f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-length: 0\r\n\r\n".encode())
    await writer.drain()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of file, then pass the end of file on (half-close)."""
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()
