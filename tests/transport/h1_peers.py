"""Peers for the HTTP/1.1 exchange tests: hypercorn with a small ASGI app, and scripted servers.

The ASGI app (a real HTTP/1.1 server, h11 underneath) answers by path:

- ``/echo``: a response head at once, then each request body piece echoed back as it arrives;
- ``/count``: reads the whole body, answers its size;
- ``/bytes?n=N``: N bytes in 64 KiB pieces, without a content-length (chunked);
- ``/reject``: 413 at once, without reading the body;
- anything else: ``METHOD path?query`` and the request headers, one per line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from tests.support.loopback import serving

PIECE = 64 * 1024

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def _start(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The test application."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path == "/echo":
        await _start(send, 200, [(b"content-type", b"application/octet-stream")])
        while True:
            message = await receive()
            data = message.get("body", b"")
            if data:
                await send({"type": "http.response.body", "body": data, "more_body": True})
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.body", "body": b""})
    elif path == "/count":
        total = 0
        while True:
            message = await receive()
            total += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = str(total).encode()
        await _start(send, 200, [(b"content-length", str(len(body)).encode())])
        await send({"type": "http.response.body", "body": body})
    elif path == "/bytes":
        left = int(scope["query_string"].decode().removeprefix("n="))
        await _start(send, 200, [])
        while left > 0:
            piece = min(left, PIECE)
            left -= piece
            await send({"type": "http.response.body", "body": b"x" * piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/reject":
        await _start(send, 413, [(b"content-length", b"8")])
        await send({"type": "http.response.body", "body": b"too much"})
    else:
        query = scope["query_string"].decode()
        lines = [f"{scope['method']} {path}{'?' + query if query else ''}"]
        lines += [f"{k.decode()}: {v.decode()}" for k, v in scope["headers"]]
        body = "\n".join(lines).encode()
        await _start(send, 200, [(b"content-length", str(len(body)).encode())])
        await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def hypercorn_server(
    *,
    unix_path: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    max_streams: int | None = None,
    asgi_app: Callable[[Scope, Receive, Send], Awaitable[None]] = app,
) -> AsyncIterator[int]:
    """Serve ``asgi_app`` (default `app`) with hypercorn on 127.0.0.1 port 0 (or ``unix_path``);
    yields the port. ``max_streams`` caps concurrent HTTP/2 streams."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    if unix_path is not None:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(unix_path)
        port = 0
    else:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sock.listen(64)
    sock.set_inheritable(True)
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("tests.h1_peers")
    config.graceful_timeout = 0.5
    if max_streams is not None:
        config.h2_max_concurrent_streams = max_streams
    if certfile is not None and keyfile is not None:
        config.certfile, config.keyfile = certfile, keyfile
    stop = asyncio.Event()
    task = asyncio.create_task(serve(asgi_app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)  # hypercorn binds inside the task
    try:
        yield port
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class ScriptedServer:
    """A TCP server on loopback whose every connection runs ``script``; counts connections."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.port = 0
        self.connections = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.script(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ScriptedServer]:
        async with serving(self._serve) as self.port:
            yield self
