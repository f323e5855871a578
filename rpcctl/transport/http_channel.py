"""`HttpChannel`: Connect and gRPC-Web calls over HTTP/1.1 and HTTP/2.

Which transport a call takes:

- HTTP/2 (``--http2``, or ``https://`` where ALPN picks ``h2``): every call kind goes over the
  `h2` full-duplex path. Measured against httpx's HTTP/2 on the same servers (Node
  connect-node and connect-python/hypercorn, median of 200 calls): unary 0.86-0.93 ms vs
  1.59-1.69 ms on a reused connection, 1.6-2.1 ms vs 3.8-4.5 ms with a fresh connection;
  100-message server streams 1.7-2.9 ms vs 2.7-3.7 ms.
- HTTP/1.1 (``--http1``, ``http://`` by default, or a TLS server without ``h2``): httpx.
  A client stream is sent chunked as it is written; a bidi stream is half-duplex: its
  requests are collected and sent with a content length at half-close (servers that refuse
  bidi over HTTP/1.1 then answer cleanly instead of resetting a half-sent body).
- bidi with no HTTP version chosen on ``http://``: HTTP/2 with prior knowledge (h2c), falling
  back to HTTP/1.1 half-duplex when the server does not speak HTTP/2.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rpcctl.errors import TransportError, UsageError
from rpcctl.schema.reflection import REFLECTION_PATHS
from rpcctl.transport.target import RpcProtocol
from rpcctl.transport.tls import uses_tls

if TYPE_CHECKING:
    from rpcctl.client import CallOptions, MethodInfo
    from rpcctl.protocols.connect import ConnectClient
    from rpcctl.protocols.exchange import RequestHead
    from rpcctl.protocols.grpc_web import GrpcWebClient
    from rpcctl.transport.exchange import Exchange
    from rpcctl.transport.h2_connection import H2Connection
    from rpcctl.transport.http_call import HttpCall
    from rpcctl.transport.httpx_transport import HttpxTransport
    from rpcctl.transport.target import ChannelSettings


# Reflection is a bidi stream whose client sends one request and waits for its answer: over
# HTTP/1.1 (half-duplex) each request gets an exchange of its own (PROTOCOLS.md §7.3).


class HttpChannel:
    """Opens Connect or gRPC-Web calls to one target."""

    def __init__(self, settings: ChannelSettings) -> None:
        if settings.protocol is RpcProtocol.GRPC:
            raise UsageError("HttpChannel speaks Connect and gRPC-Web, not native gRPC")
        self.settings = settings
        self.codec = settings.codec
        self._httpx: HttpxTransport | None = None
        self._h2: H2Connection | None = None
        self._h2_lock = asyncio.Lock()
        self._server_lacks_h2 = False

    async def open(self, method: MethodInfo, options: CallOptions) -> HttpCall:
        """Start a call; a streamed request opens its exchange (and sends headers) now."""
        from rpcctl.transport.http_call import HttpCall

        streamed = method.kind.client_streams
        protocol = self._protocol(method, options)
        use_h2 = await self._use_h2(bidi=method.kind.client_streams and method.kind.server_streams)
        opener = self._open_h2 if use_h2 else self._open_httpx
        full_duplex = use_h2 or not streamed
        bidi = method.kind.client_streams and method.kind.server_streams
        buffered = bidi and not use_h2
        per_request = buffered and method.path in REFLECTION_PATHS
        call = HttpCall(
            protocol,
            opener,
            streamed_request=streamed,
            single_response=not method.kind.server_streams,
            timeout=options.timeout,
            full_duplex=full_duplex,
            buffered=buffered,
            per_request=per_request,
        )
        if streamed and not buffered:
            await call.start_stream()
        return call

    def _protocol(self, method: MethodInfo, options: CallOptions) -> ConnectClient | GrpcWebClient:
        settings = self.settings
        size = min(options.max_message_size, settings.max_message_size)
        if settings.protocol is RpcProtocol.GRPC_WEB:
            from rpcctl.protocols.grpc_web import GrpcWebClient

            if settings.use_get:
                raise UsageError("--get is a Connect feature; gRPC-Web always uses POST")
            return GrpcWebClient(
                method.path,
                codec=options.codec or settings.codec,
                metadata=options.metadata,
                timeout=options.timeout,
                compression_name=options.compression,
                max_message_size=size,
                text=settings.grpc_web_text,
            )
        from rpcctl.protocols.connect import ConnectClient

        if settings.grpc_web_text:
            raise UsageError("--grpc-web-text needs --protocol grpc-web")
        if settings.use_get:
            if method.kind.client_streams or method.kind.server_streams:
                raise UsageError(f"--get works only for unary methods; {method.path} streams")
            if not method.no_side_effects:
                raise UsageError(
                    f"--get needs a method marked idempotency_level = NO_SIDE_EFFECTS; {method.path} is not"
                )
        return ConnectClient(
            method.path,
            codec=options.codec or settings.codec,
            streaming=method.kind.client_streams or method.kind.server_streams,
            metadata=options.metadata,
            timeout=options.timeout,
            compression_name=options.compression,
            max_message_size=size,
            use_get=settings.use_get,
        )

    async def _open_httpx(self, head: RequestHead, body: bytes | None) -> Exchange:
        if self._httpx is None:
            from rpcctl.transport.httpx_transport import HttpxTransport

            self._httpx = HttpxTransport(self.settings)
        return await self._httpx.open(head, body)

    async def _use_h2(self, *, bidi: bool) -> bool:
        """Whether the call goes over the h2 path (connecting it if so)."""
        wanted = self.settings.http2
        if wanted is False or self._server_lacks_h2:
            return False
        if wanted is None and not bidi and not uses_tls(self.settings):
            # Reuse an HTTP/2 connection that reflection already opened: no second connection
            # and no HTTP/1.1 client to load.
            return self._h2 is not None and self._h2.usable
        from rpcctl.transport.h2_connection import NotHttp2

        try:
            await self._h2_connection()
        except NotHttp2 as exc:
            if wanted:
                raise TransportError(
                    f"{self.settings.target.address} does not speak HTTP/2 ({exc}); "
                    "drop --http2 to use HTTP/1.1"
                ) from exc
            self._server_lacks_h2 = True
            return False
        return True

    async def _h2_connection(self) -> H2Connection:
        async with self._h2_lock:
            if self._h2 is None or not self._h2.usable:
                from rpcctl.transport.h2_connection import H2Connection

                if self._h2 is not None:
                    await self._h2.aclose()
                self._h2 = None
                connection = H2Connection(self.settings)
                await connection.connect()
                self._h2 = connection
            return self._h2

    async def _open_h2(self, head: RequestHead, body: bytes | None) -> Exchange:
        connection = await self._h2_connection()
        target = self.settings.target
        authority = self.settings.authority or (
            "localhost" if target.unix_path is not None else target.address
        )
        path_head = type(head)(head.method, target.prefix + head.path, head.headers)
        if body is None and head.method == "GET":
            body = b""  # a GET has no body: END_STREAM on the headers
        return await connection.open(path_head, body, authority)

    async def aclose(self) -> None:
        """Close every connection."""
        if self._httpx is not None:
            await self._httpx.aclose()
            self._httpx = None
        if self._h2 is not None:
            await self._h2.aclose()
            self._h2 = None
