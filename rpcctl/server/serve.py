"""Run the server in the current event loop: hypercorn on one listening socket.

    async with serve(table, listen="127.0.0.1:0", schema=schema) as server:
        print(server.url)          # http://127.0.0.1:54321
        ...

``listen`` is ``host:port`` (port 0 picks a free port, reported by `Server.port`),
``[::1]:port``, or ``unix:/path/to.sock`` (``unix:///path`` too). With ``certfile`` and
``keyfile`` the socket speaks TLS and offers h2 and http/1.1 by ALPN; without, HTTP/1.1
and HTTP/2 cleartext (prior knowledge or upgrade) share the port. hypercorn's access log is
off; its error log goes to the ``rpcctl.server.hypercorn`` logger. Errors are one line each,
never a traceback (`rpcctl.server.errorlog`), and `ServerLimits` bound what peers may hold
(header and idle timeouts, connections; `rpcctl.server.limits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from rpcctl.errors import UsageError
from rpcctl.server.app import RpcApp
from rpcctl.server.limits import ServerLimits
from rpcctl.wire.envelope import DEFAULT_MAX_MESSAGE_SIZE

if TYPE_CHECKING:
    from rpcctl.call_events import EventBus
    from rpcctl.schema.registry import Schema
    from rpcctl.server.call import HandlerTable

UNIX_PREFIX = "unix:"
BACKLOG = 1024
GRACEFUL_TIMEOUT_S = 2.0
# hypercorn closes a connection after this many requests; runners and benches keep theirs.
KEEP_ALIVE_MAX_REQUESTS = 2**31
WILDCARD_HOSTS = ("", "0.0.0.0", "::")


def parse_listen(listen: str) -> tuple[str, int] | str:
    """``(host, port)`` for a TCP address, or the socket path for ``unix:``; UsageError if bad."""
    if listen.startswith(UNIX_PREFIX):
        path = listen[len(UNIX_PREFIX) :]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise UsageError(f"invalid listen address {listen!r}: no socket path")
        return path
    host, sep, port_text = listen.rpartition(":")
    if not sep:
        host, port_text = listen, "0"
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(f"invalid listen address {listen!r}: bad port {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"invalid listen address {listen!r}: port out of range")
    return host, port


def _bind(address: tuple[str, int] | str) -> socket.socket:
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(address)
    else:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        where = address
        if not isinstance(address, str):
            host = f"[{address[0]}]" if ":" in str(address[0]) else address[0]
            where = f"{host}:{address[1]}"
        raise UsageError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
    return sock


class Server:
    """The one-port server for a handler table; `start` it, then `close` it (or use `serve`)."""

    def __init__(
        self,
        table: HandlerTable,
        *,
        listen: str = "127.0.0.1:0",
        prefix: str = "",
        certfile: str | os.PathLike[str] | None = None,
        keyfile: str | os.PathLike[str] | None = None,
        bus: EventBus | None = None,
        schema: Schema | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        graceful_timeout: float = GRACEFUL_TIMEOUT_S,
        limits: ServerLimits | None = None,
    ) -> None:
        if (certfile is None) != (keyfile is None):
            raise UsageError("TLS needs both a certificate and a key")
        self.app = RpcApp(table, prefix=prefix, schema=schema, bus=bus, max_message_size=max_message_size)
        self.listen = listen
        self.certfile = certfile
        self.keyfile = keyfile
        self.graceful_timeout = graceful_timeout
        self.limits = limits or ServerLimits()
        self.host = ""
        self.port = 0
        self.unix_path: str | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop_handler_set = False

    @property
    def tls(self) -> bool:
        """Whether the server speaks TLS."""
        return self.certfile is not None

    @property
    def url(self) -> str:
        """The target clients use: ``http(s)://host:port[prefix]`` or ``unix:///path``."""
        if self.unix_path is not None:
            return f"unix://{self.unix_path}" if self.unix_path.startswith("/") else f"unix:{self.unix_path}"
        host = "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{self.app.prefix}"

    @property
    def address(self) -> str:
        """``host:port`` (for grpcio channels), or the unix target."""
        if self.unix_path is not None:
            return self.url
        return self.url.split("://", 1)[1].removesuffix(self.app.prefix)

    def _config(self, fd: int) -> Any:
        from hypercorn.config import Config

        from rpcctl.server.connection_guard import attach

        config = Config()
        config.bind = [f"fd://{fd}"]
        config.accesslog = None
        config.errorlog = logging.getLogger("rpcctl.server.hypercorn")
        config.graceful_timeout = self.graceful_timeout
        attach(config, self.limits)
        config.keep_alive_max_requests = KEEP_ALIVE_MAX_REQUESTS
        config.include_date_header = False
        config.include_server_header = False
        if self.certfile is not None and self.keyfile is not None:
            config.certfile = os.fspath(self.certfile)
            config.keyfile = os.fspath(self.keyfile)
            try:
                config.create_ssl_context()
            except (OSError, ValueError) as exc:
                files = f"--cert {self.certfile} / --key {self.keyfile}"
                if isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError):
                    raise UsageError(f"{files}: cannot read: {exc.strerror or exc}") from exc
                raise UsageError(
                    f"{files}: not a PEM certificate and its private key (or the key does not match it)"
                ) from exc
        return config

    async def start(self) -> None:
        """Bind the socket and start serving in the running loop."""
        from hypercorn.asyncio import serve as hypercorn_serve

        from rpcctl.server import errorlog, hypercorn_fixes

        if self._task is not None:
            return
        hypercorn_fixes.apply()
        errorlog.install()
        loop = asyncio.get_running_loop()
        if loop.get_exception_handler() is None:
            loop.set_exception_handler(errorlog.loop_exception_handler)
            self._loop_handler_set = True
        address = parse_listen(self.listen)
        sock = _bind(address)
        if isinstance(address, str):
            self.unix_path = address
        else:
            self.host, self.port = sock.getsockname()[:2]
        try:
            config = self._config(sock.fileno())
        except BaseException:
            sock.close()
            raise
        config.bind = [f"fd://{sock.detach()}"]
        self._task = asyncio.create_task(
            hypercorn_serve(self.app, config, shutdown_trigger=self._stop.wait),  # type: ignore[arg-type]
            name=f"rpcctl-server {self.url}",
        )
        # Let hypercorn take the socket; a failure at startup surfaces here, not later.
        await asyncio.sleep(0)
        if self._task.done():
            self._task.result()

    async def close(self) -> None:
        """Stop accepting, let running calls end (up to the graceful timeout), and stop."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        try:
            await task
        finally:
            if self._loop_handler_set:
                self._loop_handler_set = False
                asyncio.get_running_loop().set_exception_handler(None)
            if self.unix_path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self.unix_path)

    async def wait_closed(self) -> None:
        """Wait until the server stops (for a command that serves until interrupted)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


@contextlib.asynccontextmanager
async def serve(table: HandlerTable, **options: Any) -> AsyncIterator[Server]:
    """A started `Server` for the block (options as `Server`)."""
    server = Server(table, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.close()
