"""Peers for endpoint tests: a greeting echo server (plain, TLS or unix) and a recording protocol.

The server speaks first (``hello``), as an HTTP/2 server sends SETTINGS first, so the tests see
whether early server bytes reach the client's protocol after a proxy's CONNECT answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from tests.support.loopback import serving

GREETING = b"hello\n"
LIMIT = 5.0  # seconds any test waits for a peer


class Recorder(asyncio.Protocol):
    """A client protocol that records what the transport gives it."""

    def __init__(self) -> None:
        self.made: list[asyncio.BaseTransport] = []
        self.data = bytearray()
        self.eof = False
        self._changed = asyncio.Event()
        self.closed = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.append(transport)

    def data_received(self, data: bytes) -> None:
        self.data += data
        self._changed.set()

    def eof_received(self) -> bool:
        self.eof = True
        self._changed.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        self._changed.set()

    async def received(self, size: int) -> bytes:
        """Wait (bounded) until ``size`` bytes arrived, and return them all."""
        async with asyncio.timeout(LIMIT):
            while len(self.data) < size and not self.closed.is_set():
                self._changed.clear()
                await self._changed.wait()
        return bytes(self.data)


async def close(transport: asyncio.BaseTransport, recorder: Recorder) -> None:
    """Close a client connection and wait (bounded) until it is gone."""
    transport.close()
    async with asyncio.timeout(LIMIT):
        await recorder.closed.wait()


@dataclass
class GreetingServer:
    """Greets every connection, then echoes what it reads until end of file."""

    port: int = 0
    connections: int = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            writer.write(GREETING)
            while chunk := await reader.read(4096):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

    @contextlib.asynccontextmanager
    async def running(
        self, ssl_context: ssl.SSLContext | None = None, unix_path: str | None = None
    ) -> AsyncIterator[GreetingServer]:
        async with serving(self._serve, unix_path=unix_path, ssl=ssl_context) as port:
            if unix_path is None:
                self.port = port
            yield self


@dataclass
class ScriptedPeer:
    """Answers each connection with ``answer`` after reading ``read_first`` bytes, then closes.

    ``answer=None`` keeps silent until the test ends (a peer that never answers); ``b""``
    closes right after reading.
    """

    answer: bytes | None
    read_first: int = 1
    port: int = 0
    received: bytearray = field(default_factory=bytearray)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.read_first:
                self.received += await reader.read(65536)
            if self.answer is None:
                await asyncio.sleep(LIMIT * 4)
                return
            if not self.answer:
                return
            writer.write(self.answer)
            await writer.drain()
            # Keep the connection open until the client closes it: the answer is all it gets.
            self.received += await reader.read(65536)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ScriptedPeer]:
        async with serving(self._serve) as self.port:
            yield self
