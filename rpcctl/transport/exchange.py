"""The transport seam: one HTTP request and its response, over HTTP/2 or HTTP/1.1.

Every call kind of every protocol goes through `Exchange`: open a request head (with the whole
body, or a body that streams through `write`), end the body, wait for the response head, read
the body incrementally, read the trailers, reset. Two wire backends implement it, the HTTP/2
frame layer (`rpcctl.transport.lean_h2`) and the HTTP/1.1 client (`rpcctl.transport.lean_h1`);
`rpcctl.transport.pool` picks one per target. Nothing above this seam knows which it got,
except through `http_version`.

Errors: `TransportError` when no connection can be made (connect, TLS, preface), `RpcError`
when an exchange breaks (UNAVAILABLE for a broken connection, INTERNAL for a protocol error,
the RST_STREAM code's mapping for a reset, CANCELLED once the client reset it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rpcctl.protocols.exchange import RequestHead
from rpcctl.wire.metadata import Metadata


@dataclass
class ExchangeTimings:
    """Monotonic timestamps (seconds) of one exchange's wire milestones; None until reached.

    ``connect_start``, ``connected`` and ``tls_done`` are set only on the exchange that opened
    its connection (a reused connection costs nothing to open).
    """

    connect_start: float | None = None
    connected: float | None = None  # TCP (or unix socket, or CONNECT tunnel) established
    tls_done: float | None = None  # TLS handshake finished
    request_sent: float | None = None  # the last request byte handed to the socket
    first_byte: float | None = None  # the first byte of the response (head) arrived
    ended: float | None = None  # the response ended (body and trailers complete)


class Exchange(Protocol):
    """One HTTP request and its response, the request body possibly still streaming."""

    http_version: str  # "HTTP/2" or "HTTP/1.1"
    timings: ExchangeTimings

    async def write(self, data: bytes) -> None:
        """Send request body bytes, waiting while flow control or the socket holds them back.

        Dropped silently once the response has ended or the server reset the stream (the call's
        status then comes from the response).
        """

    @property
    def send_closed(self) -> bool:
        """Whether request body bytes can no longer go: the request body was ended, the
        response ended, or the stream failed (HTTP/2 RST_STREAM, a lost connection). A writer
        stops then and reads the status, as grpc-go's SendMsg does on io.EOF."""

    async def end(self) -> None:
        """End the request body (HTTP/2 END_STREAM; HTTP/1.1 the last chunk)."""

    async def response(self) -> tuple[int, Metadata]:
        """The final (non-1xx) response status and headers, waiting for them."""

    async def read(self) -> bytes | None:
        """The next raw body chunk, or None at the end of the body.

        HTTP/2 flow control is opened as chunks are read here, not as they arrive.
        """

    @property
    def trailers(self) -> Metadata:
        """The HTTP trailers (HTTP/2 trailing HEADERS, HTTP/1.1 chunked trailer fields).

        Complete once `read` returned None; empty when the response had none.
        """

    async def aclose(self) -> None:
        """Release the exchange; one that has not finished is reset (RST_STREAM CANCEL, or the
        HTTP/1.1 connection is closed)."""


class Opener(Protocol):
    """Opens exchanges to one target: what a channel needs from the transport."""

    async def open(self, head: RequestHead, body: bytes | None) -> Exchange:
        """Start a request; with ``body`` that is the whole body, else it streams via `write`.

        ``head.path`` is the request target as sent (the target's path prefix included).
        """

    async def aclose(self) -> None:
        """Close every connection."""
