"""Loopback servers for tests: an asyncio stream server on 127.0.0.1 port 0 (or a unix socket)
that ends its connection handlers when it stops, and servers run on an event loop of their own
in a background thread (for code under test that runs its own loop, such as `run_cli`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssl_module
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from rpcctl.server.serve import Server

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serving(
    handler: Handler,
    *,
    unix_path: str | None = None,
    ssl: ssl_module.SSLContext | None = None,
    limit: int | None = None,
) -> AsyncIterator[int]:
    """Serve ``handler`` per connection on 127.0.0.1 port 0 (or ``unix_path``) for the block.

    Yields the port (0 on a unix socket). On exit it stops listening, cancels the handlers still
    running and waits for them, then waits until the server is closed.
    """
    active: set[asyncio.Task[Any]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            active.add(task)
            task.add_done_callback(active.discard)
        await handler(reader, writer)

    options: dict[str, Any] = {"ssl": ssl} if limit is None else {"ssl": ssl, "limit": limit}
    if unix_path is not None:
        server = await asyncio.start_unix_server(tracked, unix_path, **options)
        port = 0
    else:
        server = await asyncio.start_server(tracked, "127.0.0.1", 0, **options)
        port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        for task in list(active):
            task.cancel()
        await asyncio.gather(*active, return_exceptions=True)
        await server.wait_closed()


class Runnable(Protocol):
    def running(self) -> AbstractAsyncContextManager[Any]: ...


R = TypeVar("R", bound=Runnable)


@contextlib.contextmanager
def on_a_thread(server: R, limit: float, name: str | None = None) -> Iterator[R]:
    """``server.running()`` on a new event loop in a daemon thread for the block; ``server``.

    Starting and stopping each wait at most ``limit`` seconds.
    """
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def serve() -> None:
        async with server.running():
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), name=name, daemon=True)
    thread.start()
    assert started.wait(limit)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(limit)
        loop.close()


@contextlib.contextmanager
def rpcctl_server_on_a_thread(server: Server, limit: float = 10.0) -> Iterator[str]:
    """rpcctl's ``server`` started on a new event loop in a daemon thread for the block; its URL."""
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(limit)
    try:
        yield server.url
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(limit)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(limit)
        loop.close()
