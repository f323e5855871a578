"""Tiny servers for transport tests: raw HTTP/1.1 and `h2`, on 127.0.0.1 port 0 (or a unix socket).

Each is given a handler that decides, per request, exactly which bytes go back, so tests can
send malformed responses that no real framework would produce.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssl_module
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events

from tests.support.loopback import serving


@dataclass
class Request:
    """What the server received."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


Http1Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


async def _read_body(reader: asyncio.StreamReader, headers: list[tuple[str, str]]) -> bytes:
    values = {k.lower(): v for k, v in headers}
    if "content-length" in values:
        return await reader.readexactly(int(values["content-length"]))
    if values.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                return body
            body += await reader.readexactly(size)
            await reader.readline()
    return b""


@dataclass
class Http1Server:
    """Answers each HTTP/1.1 request with whatever the handler writes, then closes."""

    handler: Http1Handler
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode()
            if not line.strip():
                return
            method, path, _ = line.split(" ", 2)
            headers = []
            while (raw := (await reader.readline()).decode()) not in ("\r\n", "\n", ""):
                name, _, value = raw.partition(":")
                headers.append((name.strip(), value.strip()))
            request = Request(method, path, headers)
            self.requests.append(request)
            request.body = await _read_body(reader, headers)
            await self.handler(request, writer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, ssl_module.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl_module.SSLError):
                await writer.wait_closed()

    @contextlib.asynccontextmanager
    async def running(
        self, unix_path: str | None = None, ssl: ssl_module.SSLContext | None = None
    ) -> AsyncIterator[Http1Server]:
        async with serving(self._serve, unix_path=unix_path, ssl=None if unix_path else ssl) as port:
            if unix_path is None:
                self.port = port
            yield self


def response(status: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    """A close-delimited HTTP/1.1 response (no content-length: the body ends at EOF)."""
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), "connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


H2Handler = Callable[["H2Exchange"], Awaitable[None]]


class H2Exchange:
    """One stream on the h2 test server: the request as it arrives, and ways to answer."""

    def __init__(self, server: H2Server, stream_id: int, headers: list[tuple[str, str]]) -> None:
        self.server = server
        self.stream_id = stream_id
        self.headers = headers
        self.data: asyncio.Queue[bytes | None] = asyncio.Queue()

    def header(self, name: str) -> str | None:
        return dict(self.headers).get(name)

    async def respond(self, headers: list[tuple[str, str]], end: bool = False) -> None:
        self.server.conn.send_headers(self.stream_id, [(":status", "200"), *headers], end_stream=end)
        await self.server.flush()

    async def send(self, data: bytes, end: bool = False) -> None:
        self.server.conn.send_data(self.stream_id, data, end_stream=end)
        await self.server.flush()

    async def reset(self, code: int) -> None:
        self.server.conn.reset_stream(self.stream_id, code)
        await self.server.flush()


class H2Server:
    """A one-connection-at-a-time HTTP/2 (h2c prior knowledge) server driven by a handler."""

    def __init__(self, handler: H2Handler) -> None:
        self.handler = handler
        self.port = 0
        self.events: list[str] = []
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self._writer: asyncio.StreamWriter | None = None
        self._streams: dict[int, H2Exchange] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def flush(self) -> None:
        if self._writer is not None:
            self._writer.write(self.conn.data_to_send())
            await self._writer.drain()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self._writer = writer
        self.conn.initiate_connection()
        await self.flush()
        try:
            while data := await reader.read(65536):
                for event in self.conn.receive_data(data):
                    self._on(event)
                await self.flush()
        except (ConnectionError, h2.exceptions.ProtocolError):
            pass
        finally:
            writer.close()

    def _on(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            headers = [(k.decode(), v.decode()) for k, v in event.headers]
            exchange = H2Exchange(self, event.stream_id, headers)
            self._streams[event.stream_id] = exchange
            task = asyncio.ensure_future(self.handler(exchange))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif isinstance(event, h2.events.DataReceived):
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            self._streams[event.stream_id].data.put_nowait(event.data)
        elif isinstance(event, h2.events.StreamEnded):
            self._streams[event.stream_id].data.put_nowait(None)
        elif isinstance(event, h2.events.StreamReset):
            self.events.append(f"reset {event.stream_id} {event.error_code}")
            if event.stream_id in self._streams:
                self._streams[event.stream_id].data.put_nowait(None)

    @contextlib.asynccontextmanager
    async def running(self, ssl: ssl_module.SSLContext | None = None) -> AsyncIterator[H2Server]:
        async with serving(self._serve, ssl=ssl) as self.port:
            try:
                yield self
            finally:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                if self._writer is not None:
                    self._writer.close()
