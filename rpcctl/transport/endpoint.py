"""Where a lean client connects: host and port or a unix socket, TLS, a proxy, and how long to try.

Shared by the lean HTTP/1.1 and HTTP/2 clients: one place opens the socket (directly or through
an HTTP CONNECT tunnel), runs the TLS handshake, and turns a failure into a `TransportError`
that names the address. TCP and TLS are separate steps so that their times can be recorded.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from rpcctl.errors import TransportError
from rpcctl.transport.handover import Handover
from rpcctl.transport.proxy_env import authority, proxy_for
from rpcctl.transport.target import DEFAULT_CONNECT_TIMEOUT

if TYPE_CHECKING:
    from rpcctl.transport.exchange import ExchangeTimings
    from rpcctl.transport.proxy import Proxy
    from rpcctl.transport.target import ChannelSettings

P = TypeVar("P", bound=asyncio.BaseProtocol)


@dataclass(frozen=True)
class Endpoint:
    """A server to connect to, and the proxy to tunnel through (None: directly)."""

    host: str = ""
    port: int = 0
    unix_path: str | None = None
    ssl_context: ssl.SSLContext | None = None
    server_hostname: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    address: str = field(default="")
    proxy: Proxy | None = None

    def __post_init__(self) -> None:
        if not self.address:
            where = f"unix:{self.unix_path}" if self.unix_path else authority(self.host, self.port)
            object.__setattr__(self, "address", where)

    @classmethod
    def for_settings(
        cls,
        settings: ChannelSettings,
        ssl_context: ssl.SSLContext | None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> Endpoint:
        """The endpoint of a channel's target, with the proxy the environment names for it.

        ``environ`` defaults to `os.environ`; unix socket targets never use a proxy.
        """
        target = settings.target
        proxy = None
        if target.unix_path is None:
            proxy = proxy_for(target.host, target.port, tls=ssl_context is not None, environ=environ)
        return cls(
            target.host,
            target.port,
            unix_path=target.unix_path,
            ssl_context=ssl_context,
            server_hostname=settings.tls.servername,
            connect_timeout=settings.connect_timeout or DEFAULT_CONNECT_TIMEOUT,
            address=target.address,
            proxy=proxy,
        )

    @property
    def sni(self) -> str | None:
        """The TLS server name to send, or None without TLS."""
        if self.ssl_context is None:
            return None
        return self.server_hostname or self.host or "localhost"

    async def connect(
        self, factory: Callable[[], P], timings: ExchangeTimings | None = None
    ) -> tuple[asyncio.Transport, P]:
        """Open a connection running the protocol `factory` makes; `TransportError` if it cannot.

        The protocol sees one ``connection_made`` with the final transport (TLS when TLS is on)
        and only the server's bytes. TCP, the proxy's CONNECT and TLS together take at most
        ``connect_timeout``. ``timings`` gets connect_start, connected and tls_done.
        """
        loop = asyncio.get_running_loop()
        if timings is not None:
            timings.connect_start = time.monotonic()
        handover = Handover()
        opening = _Opening(self)
        try:
            async with asyncio.timeout(self.connect_timeout):
                transport = await opening.run(loop, handover, timings)
        except BaseException as exc:
            opening.close()
            if isinstance(exc, TimeoutError):
                raise TransportError(opening.timed_out()) from None
            if isinstance(exc, OSError | ValueError):  # ValueError: a host name IDNA rejects
                raise TransportError(opening.failure(exc)) from exc
            raise
        try:
            protocol = factory()
            handover.hand_to(protocol, transport)
        except BaseException:
            transport.close()
            raise
        return transport, protocol


class _Opening:
    """One connection attempt: which step it is at, for the error message, and what to close."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.step = "connect"  # then "tunnel", "tls"
        self.transport: asyncio.Transport | None = None

    async def run(
        self, loop: asyncio.AbstractEventLoop, handover: Handover, timings: ExchangeTimings | None
    ) -> asyncio.Transport:
        end = self.endpoint
        if end.unix_path is not None:
            transport, _ = await loop.create_unix_connection(lambda: handover, end.unix_path)
        elif end.proxy is not None:
            transport, _ = await loop.create_connection(lambda: handover, end.proxy.host, end.proxy.port)
        else:
            transport, _ = await loop.create_connection(lambda: handover, end.host, end.port)
        self.transport = transport
        if end.proxy is not None:
            from rpcctl.transport.tunnel import open_tunnel

            self.step = "tunnel"
            await open_tunnel(transport, handover, end.proxy, authority(end.host, end.port))
        if timings is not None:
            timings.connected = time.monotonic()
        if end.ssl_context is not None:
            self.step = "tls"
            if handover.buffered:
                # A TLS server never speaks first: a peer that did is plaintext (h2c's SETTINGS,
                # a banner), or a proxy that relayed such a peer.
                from rpcctl.transport.tls import not_tls

                raise TransportError(not_tls(end.address))
            handover.over_tls = True
            tls = await loop.start_tls(
                transport,
                handover,
                end.ssl_context,
                server_hostname=end.sni,
                ssl_handshake_timeout=max(end.connect_timeout, 0.001),
            )
            if tls is None:
                raise ConnectionResetError
            self.transport = transport = tls
            if timings is not None:
                timings.tls_done = time.monotonic()
        if handover.lost:
            raise ConnectionResetError
        return transport

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def timed_out(self) -> str:
        end = self.endpoint
        if end.proxy is not None and self.step == "connect":
            return f"cannot connect to proxy {end.proxy.described}: timed out"
        if self.step == "tunnel" and end.proxy is not None:
            return f"proxy {end.proxy.address} did not answer CONNECT to {end.address} in time"
        if self.step == "tls":
            return f"cannot connect to {end.address}: TLS handshake timed out"
        return f"cannot connect to {end.address}: timed out"

    def failure(self, exc: BaseException) -> str:
        from rpcctl.transport.tls import tls_closed, tls_failure

        end = self.endpoint
        if isinstance(exc, ssl.SSLError):
            return tls_failure(end.address, exc)
        if self.step == "tls":
            return tls_closed(end.address)
        if end.proxy is not None and self.step == "connect":
            return f"cannot connect to proxy {end.proxy.described}: {socket_reason(exc)}"
        if end.proxy is not None:
            return f"proxy {end.proxy.address} broke the tunnel to {end.address}: {socket_reason(exc)}"
        return f"cannot connect to {end.address}: {socket_reason(exc)}"


def socket_reason(exc: BaseException) -> str:
    """A short reason for a failed connect: `connection refused`, not asyncio's sentence."""
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror or exc})"
    if isinstance(exc, UnicodeError):
        return f"invalid host name ({exc})"
    if isinstance(exc, ConnectionResetError) and exc.errno is None:
        return "connection closed by peer"
    if isinstance(exc, OSError):
        number = exc.errno
        if number is None and "Connect call failed" in str(exc):
            number = errno.ECONNREFUSED
        if number is not None:
            return os.strerror(number).lower()
    return str(exc) or type(exc).__name__
