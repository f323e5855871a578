"""Unary Connect and gRPC-Web over HTTP/1.1 without the `Channel` machinery: bench's hot path.

The request bytes (request line, headers, content-length, body) are built once per distinct
request through the protocols' own `ConnectClient`/`GrpcWebClient` and sent as they are over
`rpcctl.transport.lean_h1`. A response that is plainly OK (HTTP 200, the expected content
type, no compression; for gRPC-Web one data frame and a trailer frame whose grpc-status is 0)
is accepted by the protocol's own cheap check (`plainly_ok_unary` in `rpcctl.protocols.connect`
and `.grpc_web`); every other response goes through the protocol's decoder, the one the
`Channel` path uses, so error codes and messages are exactly those of `rpcctl call`.

Measured with `benchmarks/bench_cpu.py` on a static nginx (50 in flight, one worker): about
1.8 ms of client CPU per call through `HttpChannel` (httpx), about 0.1 ms here.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rpcctl.errors import ProtocolError, RpcError
from rpcctl.protocols.connect import plainly_ok_unary as connect_plainly_ok
from rpcctl.protocols.grpc_web import plainly_ok_unary as grpc_web_plainly_ok
from rpcctl.transport.endpoint import DEFAULT_CONNECT_TIMEOUT, Endpoint
from rpcctl.transport.lean_h1 import H1Pool, Limits, Response, build_request
from rpcctl.transport.lean_h2 import H2Client, H2Limits, H2Response
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.bench.invoker import ChannelInvoker
    from rpcctl.call import MethodInfo
    from rpcctl.protocols.connect import ConnectClient
    from rpcctl.protocols.grpc_web import GrpcWebClient
    from rpcctl.transport.target import ChannelSettings
    from rpcctl.wire.metadata import Metadata

# Distinct requests (and gRPC-Web trailer blocks) remembered; templated runs make new ones.
CACHE_ENTRIES = 1024
# Room above the message size cap for framing: envelopes, a trailer frame, an error body.
BODY_SLACK = 64 * 1024
# RPCCTL_BENCH_LEAN=0 sends every call through the `Channel` API instead (for comparisons).
LEAN_ENV = "RPCCTL_BENCH_LEAN"


def lean_supported(settings: ChannelSettings, method: MethodInfo) -> bool:
    """Whether `LeanHttpInvoker` covers these settings: unary POST over HTTP/1.1."""
    from rpcctl.transport.target import RpcProtocol
    from rpcctl.transport.tls import uses_tls

    if os.environ.get(LEAN_ENV, "1") == "0":
        return False
    if settings.protocol not in (RpcProtocol.CONNECT, RpcProtocol.GRPC_WEB):
        return False
    if method.kind.client_streams or method.kind.server_streams:
        return False
    if settings.use_get or settings.grpc_web_text:
        return False
    # The HTTP version `HttpChannel` would pick: HTTP/1.1 unless asked for HTTP/2 or TLS may
    # negotiate it (ALPN: that stays on the `Channel` path, which can fall back).
    return settings.http2 is False or (settings.http2 is None and not uses_tls(settings))


def lean_h2_supported(settings: ChannelSettings, method: MethodInfo) -> bool:
    """Whether `LeanH2Invoker` covers these settings: unary POST over ``--http2`` (h2c or TLS)."""
    from rpcctl.transport.target import RpcProtocol

    if os.environ.get(LEAN_ENV, "1") == "0" or settings.http2 is not True:
        return False
    if settings.protocol not in (RpcProtocol.CONNECT, RpcProtocol.GRPC_WEB):
        return False
    if method.kind.client_streams or method.kind.server_streams:
        return False
    return not (settings.use_get or settings.grpc_web_text)


def endpoint_for(settings: ChannelSettings, context: ssl.SSLContext | None) -> Endpoint:
    """Where a lean client connects, from the channel settings."""
    target = settings.target
    return Endpoint(
        target.host,
        target.port,
        unix_path=target.unix_path,
        ssl_context=context,
        server_hostname=settings.tls.servername,
        connect_timeout=settings.connect_timeout or DEFAULT_CONNECT_TIMEOUT,
        address=target.address,
    )


class LeanHttpInvoker:
    """Unary Connect or gRPC-Web calls of one method over a pool of HTTP/1.1 connections."""

    def __init__(
        self, settings: ChannelSettings, method: MethodInfo, metadata: Metadata, timeout: float | None
    ) -> None:
        from rpcctl.call import CallOptions
        from rpcctl.transport.target import RpcProtocol
        from rpcctl.transport.tls import uses_tls

        self.settings = settings
        self.method = method
        self.timeout = timeout
        self._metadata = metadata
        self._max = min(CallOptions().max_message_size, settings.max_message_size)
        self._grpc_web = settings.protocol is RpcProtocol.GRPC_WEB
        self._client = self._new_client(metadata)
        codec = self._client.codec
        self._content_type = (
            f"application/grpc-web+{codec}" if self._grpc_web else f"application/{codec}"
        ).encode()
        target = settings.target
        tls = uses_tls(settings)
        if settings.authority:
            self._host = settings.authority
        elif target.unix_path is not None:
            self._host = "localhost"
        elif target.port == (443 if tls else 80):
            self._host = f"[{target.host}]" if ":" in target.host else target.host
        else:
            self._host = target.address
        self._tls = tls
        self.pool = self._make_pool()
        self._requests: dict[bytes, Any] = {}
        self._ok_trailers: dict[bytes, bool] = {}
        self._fallback: ChannelInvoker | None = None

    def _endpoint(self, context: ssl.SSLContext | None) -> Endpoint:
        return endpoint_for(self.settings, context)

    def _make_pool(self) -> Any:
        from rpcctl.transport.tls import ssl_context

        settings = self.settings
        return H1Pool(
            self._endpoint(ssl_context(settings, ["http/1.1"]) if self._tls else None),
            limits=Limits(max_body=self._max + BODY_SLACK),
        )

    def _new_client(self, metadata: Metadata) -> ConnectClient | GrpcWebClient:
        settings = self.settings
        if self._grpc_web:
            from rpcctl.protocols.grpc_web import GrpcWebClient

            return GrpcWebClient(
                self.method.path,
                codec=settings.codec,
                metadata=metadata,
                timeout=self.timeout,
                max_message_size=self._max,
            )
        from rpcctl.protocols.connect import ConnectClient

        return ConnectClient(
            self.method.path,
            codec=settings.codec,
            streaming=False,
            metadata=metadata,
            timeout=self.timeout,
            max_message_size=self._max,
        )

    def _build(self, client: ConnectClient | GrpcWebClient, request: bytes) -> bytes:
        head, body = client.unary_request(request)
        return build_request(
            head.method, self.settings.target.prefix + head.path, self._host, head.headers, body or b""
        )

    async def connect(self) -> None:
        """Nothing to do ahead: connections open with the first calls (as `ChannelInvoker`)."""

    async def unary(self, request: bytes, metadata: Metadata | None) -> None:
        """One unary call; a non-OK end raises `RpcError`."""
        client = self._client
        if metadata is None:
            data = self._requests.get(request)
            if data is None:
                data = self._build(client, request)
                if len(self._requests) < CACHE_ENTRIES:
                    self._requests[request] = data
        else:
            client = self._new_client(metadata)
            data = self._build(client, request)
        if self.timeout is None:
            response = await self.pool.request(data)
        else:
            try:
                async with asyncio.timeout(self.timeout):
                    response = await self.pool.request(data)
            except TimeoutError:
                raise RpcError(Code.DEADLINE_EXCEEDED, f"deadline of {self.timeout:g}s exceeded") from None
        if self._plainly_ok(response):
            return
        self._decode(client, response)

    def _plainly_ok(self, response: Response | H2Response) -> bool:
        """The common OK answer, by the protocol's own cheap check (its decoder agrees on it)."""
        if self._grpc_web:
            return grpc_web_plainly_ok(
                response.status,
                response.headers,
                response.body,
                self._content_type,
                self._max,
                self._ok_trailers,
            )
        return connect_plainly_ok(
            response.status, response.headers, response.body, self._content_type, self._max
        )

    def _decode(self, client: ConnectClient | GrpcWebClient, response: Response | H2Response) -> None:
        """Any other response, through the protocol's decoder: raises its `RpcError`."""
        from rpcctl.wire.metadata import Metadata

        decoder = client.new_decoder()
        headers = Metadata.from_header_bytes(response.headers)
        decoder.start(response.status, headers)
        messages = decoder.feed(response.body) if response.body else []
        trailers = getattr(response, "trailers", None)  # HTTP/2 only; HTTP/1.1 answers have none here
        decoder.take_trailers(Metadata.from_header_bytes(trailers) if trailers else Metadata())
        messages += decoder.finish()
        if not messages:
            raise ProtocolError(Code.UNIMPLEMENTED, "the call ended without a response message")
        if len(messages) > 1:
            raise ProtocolError(Code.UNIMPLEMENTED, "the server sent more than one response message")

    async def stream(self, requests: Sequence[bytes], interval: float, metadata: Metadata | None) -> int:
        """Streaming calls take the `Channel` path (`make_invoker` never sends them here)."""
        if self._fallback is None:
            from rpcctl.bench.invoker import ChannelInvoker

            self._fallback = ChannelInvoker(self.settings, self.method, self._metadata, self.timeout)
        return await self._fallback.stream(requests, interval, metadata)

    async def aclose(self) -> None:
        """Close every connection."""
        await self.pool.aclose()
        if self._fallback is not None:
            await self._fallback.aclose()


class LeanH2Invoker(LeanHttpInvoker):
    """Unary Connect or gRPC-Web calls of one method, multiplexed on one HTTP/2 connection.

    Same request building, fast accept and decoder fallback as `LeanHttpInvoker`; the
    transport is `rpcctl.transport.lean_h2` (prebuilt header lists, one `asyncio.Protocol`).
    """

    pool: H2Client

    def _make_pool(self) -> H2Client:
        from rpcctl.transport.tls import ssl_context

        settings = self.settings
        return H2Client(
            self._endpoint(ssl_context(settings, ["h2"]) if self._tls else None),
            limits=H2Limits(max_body=self._max + BODY_SLACK),
        )

    def _build_h2(
        self, client: ConnectClient | GrpcWebClient, request: bytes
    ) -> tuple[list[tuple[bytes, bytes]], bytes]:
        head, body = client.unary_request(request)
        headers = [
            (b":method", head.method.encode()),
            (b":scheme", b"https" if self._tls else b"http"),
            (b":authority", self._host.encode("latin-1")),
            (b":path", (self.settings.target.prefix + head.path).encode("latin-1")),
        ]
        for name, value in head.headers:
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
                raise ValueError(f"invalid header {name!r}")
            headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        return headers, body or b""

    async def unary(self, request: bytes, metadata: Metadata | None) -> None:
        """One unary call; a non-OK end raises `RpcError`."""
        client = self._client
        if metadata is None:
            built = self._requests.get(request)
            if built is None:
                built = self._build_h2(client, request)
                if len(self._requests) < CACHE_ENTRIES:
                    self._requests[request] = built
        else:
            client = self._new_client(metadata)
            built = self._build_h2(client, request)
        if self.timeout is None:
            response = await self.pool.request(*built)
        else:
            try:
                async with asyncio.timeout(self.timeout):
                    response = await self.pool.request(*built)
            except TimeoutError:
                raise RpcError(Code.DEADLINE_EXCEEDED, f"deadline of {self.timeout:g}s exceeded") from None
        if self._plainly_ok(response):
            return
        self._decode(client, response)
