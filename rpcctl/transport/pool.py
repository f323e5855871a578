"""The connection pool of one target: picks the HTTP version and opens exchanges on it.

Which HTTP version a request takes (DESIGN.md §2):

- ``https://``: ALPN offers ``h2`` and ``http/1.1`` and the server picks. With ``--http2`` or
  native gRPC, a server that does not pick ``h2`` is an error that says so.
- ``http://`` with native gRPC or ``--http2``: HTTP/2 with prior knowledge (h2c).
- ``http://`` otherwise: HTTP/1.1, except that a bidi stream (which HTTP/1.1 can carry only
  half-duplex) tries h2c first, and a request reuses an h2c connection already open. With
  ``prefer_http2`` (the proxy's upstream, whose version nobody chose) every request tries h2c
  first.
- ``--http1``: HTTP/1.1 only.

A server that answers one version with the other fails at once with an error that names the
option that works; a remembered "no HTTP/2 here" keeps later requests from trying again.
"""

from __future__ import annotations

import asyncio
import enum
from typing import TYPE_CHECKING

from rpcctl.errors import TransportError, UsageError
from rpcctl.transport.target import RpcProtocol
from rpcctl.transport.tls import ssl_context, uses_tls
from rpcctl.wire.metadata import Metadata

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from rpcctl.protocols.exchange import RequestHead
    from rpcctl.transport.exchange import Exchange
    from rpcctl.transport.lean_h1 import H1Pool
    from rpcctl.transport.lean_h2 import H2Client
    from rpcctl.transport.probe import ProbeAnswer
    from rpcctl.transport.target import ChannelSettings

ALPN_H2 = "h2"
ALPN_HTTP1 = "http/1.1"
PROBE_TIMEOUT = 2.0  # seconds a probe may take: it only improves an error message
PROBE_MAX_CHUNKS = 64  # an answer to a bodiless probe is tiny; stop reading a chatty one


class HttpVersion(enum.Enum):
    """The two wire backends."""

    HTTP2 = "HTTP/2"
    HTTP1 = "HTTP/1.1"


class HttpPool:
    """Connections to one target, HTTP/2 and HTTP/1.1, opened on first use."""

    def __init__(self, settings: ChannelSettings, *, max_body: int | None = None) -> None:
        self.settings = settings
        self.tls = uses_tls(settings)
        target = settings.target
        self.scheme = "https" if self.tls else "http"
        # A unix socket has no host name: name it as grpc-go and curl do.
        self.authority = settings.authority or (
            "localhost" if target.unix_path is not None else target.address
        )
        self._max_body = max_body
        self._h2: H2Client | None = None
        self._h1: H1Pool | None = None
        self._h2_ready = False  # an HTTP/2 connection was opened at least once
        self._lacks_h2 = False
        self._lock = asyncio.Lock()

    @property
    def http2_required(self) -> bool:
        """Whether only HTTP/2 will do (native gRPC, or ``--http2``)."""
        return self.settings.protocol is RpcProtocol.GRPC or self.settings.http2 is True

    async def choose(self, *, bidi: bool) -> HttpVersion:
        """The HTTP version for the next request (connecting HTTP/2 first where it must be tried)."""
        version = await self._choose(bidi=bidi)
        if version is HttpVersion.HTTP1:
            # Built now, before a call's clock starts (HTTP/2's client is built and connected in
            # _try_h2): a one-off call's -v timings must not include loading the HTTP/1.1 client.
            self._h1_pool()
        return version

    async def _choose(self, *, bidi: bool) -> HttpVersion:
        wanted = self.settings.http2
        if wanted is False:
            if self.settings.protocol is RpcProtocol.GRPC:
                raise UsageError("native gRPC needs HTTP/2; drop --http1 or use --protocol grpc-web")
            return HttpVersion.HTTP1
        if self._lacks_h2:
            return HttpVersion.HTTP1
        if self.http2_required or self.tls or bidi or self.settings.prefer_http2:
            if await self._try_h2():
                return HttpVersion.HTTP2
            return HttpVersion.HTTP1
        # Plain http:// with no version asked for: reuse an h2c connection that is already
        # open (reflection opened one), else HTTP/1.1.
        return HttpVersion.HTTP2 if self._h2_ready else HttpVersion.HTTP1

    async def open(self, head: RequestHead, body: bytes | None, version: HttpVersion) -> Exchange:
        """Start one request on the chosen version (see `choose`)."""
        if version is HttpVersion.HTTP2:
            return await self._h2_client().open(head, scheme=self.scheme, authority=self.authority, body=body)
        return await self._h1_pool().open(head, host=self.authority, body=body)

    def opener(self, version: HttpVersion) -> Callable[[RequestHead, bytes | None], Awaitable[Exchange]]:
        """A channel's `open` on ``version``: a GET goes out bodiless, and the function hands
        back the backend's own coroutine (no coroutine of its own on each call)."""
        if version is HttpVersion.HTTP2:

            def open_h2(head: RequestHead, body: bytes | None) -> Awaitable[Exchange]:
                if body is None and head.method == "GET":
                    body = b""  # a GET has no body (HTTP/1.1's client knows it already)
                return self._h2_client().open(head, scheme=self.scheme, authority=self.authority, body=body)

            return open_h2

        def open_h1(head: RequestHead, body: bytes | None) -> Awaitable[Exchange]:
            return self._h1_pool().open(head, host=self.authority, body=body)

        return open_h1

    async def probe(self, head: RequestHead, timeout: float = PROBE_TIMEOUT) -> ProbeAnswer | None:
        """Send one bodiless request over HTTP/2 and read its whole answer; None when the server
        reset it, does not speak HTTP/2, or did not answer within `timeout` seconds.

        For hints only (which protocol does this server speak?): never raises.
        """
        from rpcctl.errors import RpcctlError
        from rpcctl.transport.probe import ProbeAnswer

        try:
            async with asyncio.timeout(timeout):
                if not await self._try_h2():
                    return None
                exchange = await self.open(head, b"", HttpVersion.HTTP2)
                try:
                    status, headers = await exchange.response()
                    for _ in range(PROBE_MAX_CHUNKS):
                        if await exchange.read() is None:
                            return ProbeAnswer(status, headers, exchange.trailers)
                    return ProbeAnswer(status, headers, Metadata())
                finally:
                    await exchange.aclose()
        except (RpcctlError, OSError, TimeoutError):
            return None

    async def _try_h2(self) -> bool:
        from rpcctl.transport.lean_h2 import NotHttp2

        async with self._lock:
            if self._lacks_h2:
                return False
            try:
                await self._h2_client().connect()
            except NotHttp2 as exc:
                if self.http2_required:
                    raise TransportError(self._h2_refused(str(exc))) from None
                self._lacks_h2 = True
                return False
            self._h2_ready = True
            return True

    def _h2_refused(self, reason: str) -> str:
        # `reason` names the server already ("HOST:PORT speaks HTTP/1.1 only (...)").
        if self.settings.protocol is RpcProtocol.GRPC:
            return (
                f"{reason}: it does not speak HTTP/2, so not native gRPC: "
                "try --protocol connect or --protocol grpc-web"
            )
        return f"{reason}: it does not speak HTTP/2; drop --http2 to use HTTP/1.1"

    def _h2_client(self) -> H2Client:
        if self._h2 is None:
            from rpcctl.transport.endpoint import Endpoint
            from rpcctl.transport.lean_h2 import (
                DEFAULT_KEEPALIVE_TIME,
                DEFAULT_KEEPALIVE_TIMEOUT,
                H2Client,
                H2Limits,
            )

            context = ssl_context(self.settings, [ALPN_H2, ALPN_HTTP1]) if self.tls else None
            limits = H2Limits() if self._max_body is None else H2Limits(max_body=self._max_body)
            keepalive = self.settings.keepalive_time
            interval = DEFAULT_KEEPALIVE_TIME if keepalive is None else (keepalive or None)
            self._h2 = H2Client(
                Endpoint.for_settings(self.settings, context),
                limits=limits,
                # None: the default; 0: --keepalive-time 0 turns it off.
                keepalive_time=interval,
                # Who asks for a short keepalive wants a dead peer found as quickly: the PING's
                # answer is awaited no longer than the interval itself.
                keepalive_timeout=min(DEFAULT_KEEPALIVE_TIMEOUT, interval or DEFAULT_KEEPALIVE_TIMEOUT),
            )
        return self._h2

    def _h1_pool(self) -> H1Pool:
        if self._h1 is None:
            from rpcctl.transport.endpoint import Endpoint
            from rpcctl.transport.lean_h1 import H1Pool, Limits

            context = ssl_context(self.settings, [ALPN_HTTP1]) if self.tls else None
            limits = Limits() if self._max_body is None else Limits(max_body=self._max_body)
            self._h1 = H1Pool(Endpoint.for_settings(self.settings, context), limits=limits)
        return self._h1

    async def aclose(self) -> None:
        """Close every connection of both versions."""
        h2, h1 = self._h2, self._h1
        self._h2 = self._h1 = None
        self._h2_ready = False
        if h2 is not None:
            await h2.aclose()
        if h1 is not None:
            await h1.aclose()
