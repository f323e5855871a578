"""One request on an `H2Conn`, and the records and errors the HTTP/2 client hands out.

`H2Stream` is the bare stream `H2Conn.submit` returns for a prebuilt unary request: its
`waiter` completes with the whole `H2Response` (`rpcctl.transport.whole_response`).
`H2Exchange` (`rpcctl.transport.h2_exchange`) extends it for requests and responses that stream.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rpcctl.errors import RpcError, TransportError
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.transport.h2_conn import H2Conn


@dataclass(frozen=True)
class H2Limits:
    """How much of a response the client accepts."""

    max_body: int = 4 * 1024 * 1024 + 64 * 1024  # whole-body `request()` only
    max_header_list: int = 64 * 1024  # SETTINGS_MAX_HEADER_LIST_SIZE (HPACK-decoded size)


class NotSent(RpcError):
    """The server never processed the request (GOAWAY, or the connection ended before it went out).

    An UNAVAILABLE `RpcError`, so it needs no translation; an opener may send the request once
    more on a new connection when it still has the whole body.
    """

    def __init__(self, message: str) -> None:
        super().__init__(Code.UNAVAILABLE, message)


class NotHttp2(TransportError):
    """The server does not speak HTTP/2 (ALPN chose another protocol, or it answered in HTTP/1.1)."""


class H2Stream:
    """A request on a connection: what it sends, and its response as frames arrive."""

    __slots__ = (
        "body",
        "conn",
        "headers",
        "pending",
        "raw_trailers",
        "received",
        "request",
        "send_window",
        "size",
        "status",
        "stream_id",
        "waiter",
    )  # fmt: skip

    streamed = False  # an `H2Exchange`: the connection calls its hooks instead of filling `body`

    def __init__(
        self,
        conn: H2Conn,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        waiter: asyncio.Future[Any],
    ) -> None:
        self.conn = conn
        self.request = headers
        self.pending: memoryview | bytes = body  # request bytes not sent yet
        self.waiter = waiter
        self.stream_id = 0
        self.send_window = 0  # how much request body the server accepts now
        self.received = 0  # response bytes not yet acknowledged with WINDOW_UPDATE
        self.status = 0  # 0 until the final (non-1xx) response headers
        self.headers: list[tuple[bytes, bytes]] = []
        self.raw_trailers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0  # response bytes received (unary) or buffered unread (streamed)
