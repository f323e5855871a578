"""A scripted keep-alive HTTP/1.1 server on loopback, for the lean client and the bench invokers.

It reads whole requests (content-length bodies) and answers each with whatever its `Answer`
writes, so tests control the response byte by byte.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from tests.support.loopback import serving

# (request number on this connection, request bytes, writer) -> keep the connection open?
Answer = Callable[[int, bytes, asyncio.StreamWriter], Awaitable[bool]]


def ok(body: bytes = b"hello", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n{extra}content-length: {len(body)}\r\n\r\n".encode()
        + body
    )


class RawServer:
    """A keep-alive HTTP/1.1 server that reads whole requests and answers with `answer`."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            number = 0
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                number += 1
                keep = await self.answer(number, request, writer)
                await writer.drain()
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # a cancelled handler ends quietly (3.11 logs cancelled stream-server tasks)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @contextlib.asynccontextmanager
    async def running(self, unix_path: str | None = None) -> AsyncIterator[RawServer]:
        async with serving(self._serve, unix_path=unix_path) as port:
            if unix_path is None:
                self.port = port
            yield self


def always(data: bytes, *, keep: bool = True) -> Answer:
    async def answer(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(data)
        return keep

    return answer


def in_pieces(data: bytes, size: int, *, keep: bool = True) -> Answer:
    """Answer with `data` written `size` bytes at a time, each piece flushed on its own."""

    async def answer(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        for start in range(0, len(data), size):
            writer.write(data[start : start + size])
            await writer.drain()
            await asyncio.sleep(0.001)
        return keep

    return answer
