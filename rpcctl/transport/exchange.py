"""The seam between a call and the HTTP library: one request/response exchange.

`Exchange` is small enough to fake: write body bytes, end the body, wait for the response
head, read raw body chunks, close. `HttpxTransport` implements it with httpx (HTTP/1.1, and
HTTP/2 without full duplex); `rpcctl.transport.h2_connection` implements it on `h2`.
"""

from __future__ import annotations

from typing import Protocol

from rpcctl.protocols.exchange import RequestHead
from rpcctl.wire.metadata import Metadata


class Exchange(Protocol):
    """One HTTP request and its response, with the request body possibly still streaming."""

    http_version: str

    async def write(self, data: bytes) -> None:
        """Send request body bytes (dropped silently once the peer stopped reading)."""

    async def end(self) -> None:
        """End the request body."""

    async def response(self) -> tuple[int, Metadata]:
        """The response status and headers, waiting for them."""

    async def read(self) -> bytes | None:
        """The next raw (undecoded) body chunk, or None at the end of the body."""

    async def aclose(self) -> None:
        """Release the exchange, aborting it if it has not finished."""


class Transport(Protocol):
    """Opens exchanges to one target."""

    async def open(self, head: RequestHead, body: bytes | None) -> Exchange:
        """Start a request: with ``body`` the whole body, else it streams through `write`."""

    async def aclose(self) -> None:
        """Close connections."""
