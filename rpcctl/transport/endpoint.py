"""Where a lean client connects: host and port or a unix socket, TLS, and how long to try.

Shared by the lean HTTP/1.1 and HTTP/2 clients: one place opens the socket and turns a
failure into a `TransportError` that names the address.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from rpcctl.errors import TransportError
from rpcctl.transport.target import DEFAULT_CONNECT_TIMEOUT

P = TypeVar("P", bound=asyncio.Protocol)


@dataclass(frozen=True)
class Endpoint:
    """A server to connect to."""

    host: str = ""
    port: int = 0
    unix_path: str | None = None
    ssl_context: ssl.SSLContext | None = None
    server_hostname: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    address: str = field(default="")

    def __post_init__(self) -> None:
        if not self.address:
            where = f"unix:{self.unix_path}" if self.unix_path else f"{self.host}:{self.port}"
            object.__setattr__(self, "address", where)

    @property
    def sni(self) -> str | None:
        """The TLS server name to send, or None without TLS."""
        if self.ssl_context is None:
            return None
        return self.server_hostname or self.host or "localhost"

    async def connect(self, factory: Callable[[], P]) -> tuple[asyncio.Transport, P]:
        """Open a connection running the protocol `factory` makes; `TransportError` if it cannot."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                if self.unix_path is not None:
                    transport, protocol = await loop.create_unix_connection(
                        factory, self.unix_path, ssl=self.ssl_context, server_hostname=self.sni
                    )
                else:
                    transport, protocol = await loop.create_connection(
                        factory, self.host, self.port, ssl=self.ssl_context, server_hostname=self.sni
                    )
        except TimeoutError:
            raise TransportError(f"cannot connect to {self.address}: timed out") from None
        except ssl.SSLError as exc:
            from rpcctl.transport.tls import tls_failure

            raise TransportError(tls_failure(self.address, exc)) from exc
        except OSError as exc:
            raise TransportError(f"cannot connect to {self.address}: {socket_reason(exc)}") from exc
        return transport, protocol


def socket_reason(exc: BaseException) -> str:
    """A short reason for a failed connect: `connection refused`, not asyncio's sentence."""
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror or exc})"
    if isinstance(exc, OSError):
        number = exc.errno
        if number is None and "Connect call failed" in str(exc):
            number = errno.ECONNREFUSED
        if number is not None:
            return os.strerror(number).lower()
    return str(exc) or type(exc).__name__
