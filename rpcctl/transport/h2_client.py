"""`H2Client`: requests to one server over one HTTP/2 connection at a time (a new one after GOAWAY).

Two ways in: `request` (a prebuilt header list and whole body in, the whole `H2Response` out:
`rpcctl bench`'s unary hot path) and `open` (an `H2Exchange`, the `Exchange` seam for every
call kind). Opening a connection sends the preface and SETTINGS and waits, within the
endpoint's connect timeout, for the server's SETTINGS; a server that answers in HTTP/1.1, or
with ALPN other than ``h2``, fails at once with `NotHttp2` (the pool then uses HTTP/1.1), one
that answers with a TLS record with a `TransportError` that says to use ``https://``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rpcctl.errors import RpcError, TransportError
from rpcctl.protocols.exchange import RequestHead
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.exchange import ExchangeTimings
from rpcctl.transport.h2_conn import H2Conn
from rpcctl.transport.h2_exchange import H2Exchange
from rpcctl.transport.h2_stream import H2Limits, NotHttp2, NotSent
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.transport.whole_response import H2Response

CLOSE_WAIT = 0.05  # seconds `H2Client.aclose` waits for sockets to close before aborting them
# Keepalive for a debugging tool: a call on a dead connection should fail within about half
# a minute of silence (20 s quiet, then 20 s for the PING's answer; grpc-go and grpc-java
# clients are commonly configured in that range), not hang until the OS gives up on the
# socket (minutes to hours). `Keepalive` keeps later pings on a quiet stream rarer, so that
# gRPC servers' ping policies never see abuse.
DEFAULT_KEEPALIVE_TIME = 20.0
DEFAULT_KEEPALIVE_TIMEOUT = 20.0


class H2Client:
    """Requests to one server over one HTTP/2 connection at a time (a new one after GOAWAY)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        limits: H2Limits | None = None,
        keepalive_time: float | None = DEFAULT_KEEPALIVE_TIME,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
    ) -> None:
        self.endpoint = endpoint
        self.address = endpoint.address
        self.limits = limits or H2Limits()
        self.keepalive_time = keepalive_time
        self.keepalive_timeout = keepalive_timeout
        self.connections_opened = 0
        self._conn: H2Conn | None = None
        self._opening: asyncio.Future[H2Conn] | None = None
        self._all: set[H2Conn] = set()
        self._closed = False

    async def request(self, headers: list[tuple[bytes, bytes]], body: bytes) -> H2Response:
        """Send one request; its whole response. `RpcError` for a broken call."""
        conn = self._conn
        if conn is None or not conn.usable:
            conn = await self._connection()
        stream = conn.submit(headers, body)
        try:
            return await stream.waiter
        except NotSent:
            pass  # the server never saw it: once more on a new connection
        except BaseException:
            if not stream.waiter.done() or stream.waiter.cancelled():
                conn.abandon(stream)
            raise
        conn = await self._connection()
        stream = conn.submit(headers, body)
        try:
            return await stream.waiter
        except NotSent as exc:
            raise RpcError(Code.UNAVAILABLE, f"{self.address}: {exc.message}") from None
        except BaseException:
            if not stream.waiter.done() or stream.waiter.cancelled():
                conn.abandon(stream)
            raise

    async def open(self, head: RequestHead, *, scheme: str, authority: str, body: bytes | None) -> H2Exchange:
        """Start one request as an `Exchange`: ``body`` is the whole body, or None to stream it."""
        headers = [
            (b":method", head.method.encode()),
            (b":scheme", scheme.encode()),
            (b":path", head.path.encode()),
            (b":authority", authority.encode()),
        ]
        headers += [(name.encode(), value.encode()) for name, value in head.headers]
        conn = await self._connection()
        exchange = H2Exchange(conn, headers, body, self._connection)
        if conn.fresh:
            conn.fresh = False
            opened = conn.opened
            exchange.timings.connect_start = opened.connect_start
            exchange.timings.connected = opened.connected
            exchange.timings.tls_done = opened.tls_done
        conn.launch(exchange)
        return exchange

    async def connect(self) -> None:
        """Open the connection now (`TransportError` or `NotHttp2` if it cannot be)."""
        await self._connection()

    async def _connection(self) -> H2Conn:
        conn = self._conn
        if conn is not None and conn.usable:
            return conn
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
        opening = self._opening
        try:
            return await asyncio.shield(opening)
        finally:
            if self._opening is opening and opening.done():
                self._opening = None
                if not opening.cancelled():
                    opening.exception()  # retrieved here whoever else awaited it

    async def _open(self) -> H2Conn:
        if self._closed:
            raise TransportError(f"connection to {self.address} is closed")

        def factory() -> H2Conn:
            return H2Conn(
                self.limits,
                self.address,
                keepalive_time=self.keepalive_time,
                keepalive_timeout=self.keepalive_timeout,
            )

        timings = ExchangeTimings()
        transport, conn = await self.endpoint.connect(factory, timings)
        conn.opened = timings
        try:
            if self.endpoint.ssl_context is not None:
                ssl_object = transport.get_extra_info("ssl_object")
                chosen = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
                if chosen != "h2":
                    raise NotHttp2(f"{self.address} does not offer HTTP/2 (ALPN chose {chosen or 'nothing'})")
            async with asyncio.timeout(self.endpoint.connect_timeout):
                await conn.settled
        except TimeoutError:
            conn.close()
            raise TransportError(f"cannot connect to {self.address}: no HTTP/2 settings in time") from None
        except TransportError:
            conn.close()
            raise
        except RpcError as exc:
            conn.close()
            raise TransportError(f"cannot speak HTTP/2 with {self.address}: {exc.message}") from None
        self.connections_opened += 1
        self._all = {c for c in self._all if not c.closed}
        self._all.add(conn)
        self._conn = conn
        return conn

    async def aclose(self) -> None:
        """Close every connection."""
        self._closed = True
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
            await asyncio.gather(self._opening, return_exceptions=True)
        conns = list(self._all)
        for conn in conns:
            conn.close()
        self._all.clear()
        self._conn = None
        # A TLS connection closes after its shutdown exchange: wait (briefly) for the socket to
        # go, so that an event loop ending right after this leaves no transport open.
        lost = [conn.lost for conn in conns if conn.transport is not None and not conn.lost.done()]
        if not lost:
            await asyncio.sleep(0)
            return
        await asyncio.wait(lost, timeout=CLOSE_WAIT)
        # Our TLS close_notify is out by now; a client need not wait for the server's (RFC 8446
        # §6.1), and a server that never sends it would hold the socket for asyncio's 30 s
        # shutdown timeout, past the end of the loop: abort what is still open.
        stuck = [conn for conn in conns if conn.transport is not None and not conn.lost.done()]
        for conn in stuck:
            conn.transport.abort()  # type: ignore[union-attr]
        if stuck:
            await asyncio.sleep(0)  # let the aborted transports run their connection_lost
