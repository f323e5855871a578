"""Opening channels: the one call API that every command stands on.

`open_channel(settings)` gives a `Channel` (see `rpcctl.call`) for any target and any of the
three protocols, over rpcctl's own HTTP/2 and HTTP/1.1 clients (`rpcctl.transport.pool`).
The CLI, bench, replay, the proxy's upstream hop, the runner simulator and the TUI all call
through it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rpcctl.errors import UsageError
from rpcctl.hints import protocol_hint
from rpcctl.transport.target import RpcProtocol

# Prepared unary calls (and `open` routes) remembered per channel, per distinct method and
# options; callers that make new options per call (templated bench headers) start over when
# it is full.
PREPARED_CACHED = 256

if TYPE_CHECKING:
    from rpcctl.call import CallOptions, MethodInfo
    from rpcctl.prepared_unary import PreparedUnary
    from rpcctl.protocols.exchange import ClientProtocol, RequestHead
    from rpcctl.transport.exchange import Exchange
    from rpcctl.transport.pool import HttpPool
    from rpcctl.transport.target import ChannelSettings
    from rpcctl.wire_call import WireCall


@dataclass(frozen=True, slots=True)
class Route:
    """How the calls of one method with one `CallOptions` go out: the protocol's client half
    (stateless between calls) and an opener on the HTTP version chosen for them."""

    method: MethodInfo
    options: CallOptions
    protocol: ClientProtocol
    opener: Callable[[RequestHead, bytes | None], Awaitable[Exchange]]
    full_duplex: bool
    buffered: bool
    # The method's kind, read once: whether its request streams, whether one response ends it.
    streamed_request: bool
    single_response: bool


def open_channel(settings: ChannelSettings) -> RpcChannel:
    """A channel to the settings' target over its protocol; connects lazily, on the first call."""
    return RpcChannel(settings)


class RpcChannel:
    """Opens calls of one protocol to one target over a pool of HTTP/2 and HTTP/1.1 connections."""

    def __init__(self, settings: ChannelSettings) -> None:
        from rpcctl.transport.pool import HttpPool

        self.settings = settings
        self.codec = settings.codec
        self.pool: HttpPool = HttpPool(settings)
        # (method path, id(options)) -> its prepared call; the entry holds the options, so
        # the id is not reused while cached (checked with `is` on lookup).
        self._prepared: dict[tuple[str, int], PreparedUnary] = {}
        self._default_options: CallOptions | None = None
        # The same for `open`: the protocol's client half and the HTTP version of a route.
        self._routes: dict[tuple[str, int], Route] = {}
        self._hint = functools.partial(protocol_hint, settings.protocol)

    async def connect(self, method: MethodInfo) -> None:
        """Open the connection a call of `method` would use, now (`TransportError` if it cannot be).

        HTTP/2 connections open here; HTTP/1.1 ones open with the first request.
        """
        kind = method.kind
        await self.pool.choose(bidi=kind.client_streams and kind.server_streams)

    async def open(self, method: MethodInfo, options: CallOptions) -> WireCall:
        """Start a call; a streamed request opens its exchange (and sends its headers) now."""
        from rpcctl.wire_call import WireCall

        route = self._routes.get((method.path, id(options)))
        if (
            route is None
            or route.options is not options
            or (route.method is not method and route.method != method)
        ):
            route = await self._route(method, options)
        call = WireCall(
            route.protocol,
            route.opener,
            streamed_request=route.streamed_request,
            single_response=route.single_response,
            timeout=options.timeout,
            full_duplex=route.full_duplex,
            buffered=route.buffered,
            hint=self._hint,
        )
        if route.streamed_request and not route.buffered:
            await call.start_stream()
        return call

    async def _route(self, method: MethodInfo, options: CallOptions) -> Route:
        """How calls of ``method`` with ``options`` go out, worked out once (then cached)."""
        from rpcctl.transport.pool import HttpVersion

        kind = method.kind
        bidi = kind.client_streams and kind.server_streams
        protocol = self._protocol(method, options)
        version = await self.pool.choose(bidi=bidi)
        route = Route(
            method,
            options,
            protocol,
            self.pool.opener(version),
            full_duplex=version is HttpVersion.HTTP2 or not kind.client_streams,
            # HTTP/1.1 cannot carry a bidi stream both ways at once: collect the requests and
            # send them at half-close, so servers that refuse bidi over HTTP/1.1 answer cleanly.
            buffered=bidi and version is not HttpVersion.HTTP2,
            streamed_request=kind.client_streams,
            single_response=not kind.server_streams,
        )
        if len(self._routes) >= PREPARED_CACHED:
            self._routes.clear()
        self._routes[(method.path, id(options))] = route
        return route

    def unary(
        self, method: MethodInfo, request: bytes, options: CallOptions | None = None
    ) -> Coroutine[Any, Any, bytes]:
        """One unary call, cheaply: await it for the one response message, or `RpcError`.

        The same verdict as a call through `open` for every answer (see `rpcctl.prepared_unary`);
        modes the whole-response path does not cover (gRPC-Web text, responses larger than its
        body cap, non-unary methods) take `open`. A prepared call is returned as it is, not
        awaited in a coroutine of this method's own: one frame less on every call.
        """
        if options is None:
            options = self._default_options or self._new_default_options()
        prepared = self._prepared.get((method.path, id(options)))
        if (
            prepared is None
            or prepared.options is not options
            or (prepared.method is not method and prepared.method != method)
        ):
            return self._unary_unprepared(method, request, options)
        return prepared.call(request)

    async def _unary_unprepared(self, method: MethodInfo, request: bytes, options: CallOptions) -> bytes:
        """The first call of ``method`` with ``options``: prepare it, or take `open`."""
        prepared = await self._prepare(method, options)
        if prepared is None:
            from rpcctl.call import unary_through

            return await unary_through(self, method, request, options)
        return await prepared.call(request)

    def _new_default_options(self) -> CallOptions:
        from rpcctl.call import CallOptions

        self._default_options = CallOptions()
        return self._default_options

    async def _prepare(self, method: MethodInfo, options: CallOptions) -> PreparedUnary | None:
        """The prepared call of ``method`` with ``options``, or None where `open` must serve."""
        from rpcctl.prepared_unary import BODY_SLACK, PreparedUnary
        from rpcctl.transport.pool import HttpVersion

        kind = method.kind
        settings = self.settings
        protocol = self._protocol(method, options)  # the usage checks of every call
        if kind.client_streams or kind.server_streams or settings.grpc_web_text:
            return None
        max_size = min(options.max_message_size, settings.max_message_size)
        pool = self.pool
        version = await pool.choose(bidi=False)
        h2 = h1 = None
        if version is HttpVersion.HTTP2:
            h2 = pool._h2_client()
            limit = h2.limits.max_body
        else:
            h1 = pool._h1_pool()
            limit = h1.limits.max_body or 0
        if max_size + BODY_SLACK > limit:
            return None  # the whole-response path caps bodies below what this call accepts
        prepared = PreparedUnary(
            method,
            options,
            protocol,
            max_size=max_size,
            hint=self._hint,
            h2=h2,
            h1=h1,
            scheme=pool.scheme,
            authority=pool.authority,
        )
        if len(self._prepared) >= PREPARED_CACHED:
            self._prepared.clear()
        self._prepared[(method.path, id(options))] = prepared
        return prepared

    def _protocol(self, method: MethodInfo, options: CallOptions) -> ClientProtocol:
        """The client half of the settings' protocol for one call."""
        settings = self.settings
        if settings.use_get and settings.protocol is not RpcProtocol.CONNECT:
            raise UsageError("--get is a Connect feature; gRPC and gRPC-Web always use POST")
        if settings.grpc_web_text and settings.protocol is not RpcProtocol.GRPC_WEB:
            raise UsageError("--grpc-web-text needs --protocol grpc-web")
        path = settings.target.prefix + method.path  # the prefix holds for every protocol
        common: dict[str, Any] = {
            "codec": options.codec or settings.codec,
            "metadata": options.metadata,
            "timeout": options.timeout,
            "compression_name": options.compression,
            "max_message_size": min(options.max_message_size, settings.max_message_size),
        }
        if settings.protocol is RpcProtocol.GRPC:
            from rpcctl.protocols.grpc import GrpcClient

            return GrpcClient(path, **common)
        if settings.protocol is RpcProtocol.GRPC_WEB:
            from rpcctl.protocols.grpc_web import GrpcWebClient

            return GrpcWebClient(path, text=settings.grpc_web_text, **common)
        from rpcctl.protocols.connect import ConnectClient

        streams = method.kind.client_streams or method.kind.server_streams
        if settings.use_get:
            if streams:
                raise UsageError(f"--get works only for unary methods; {method.path} streams")
            if not method.no_side_effects:
                raise UsageError(
                    f"--get needs a method marked idempotency_level = NO_SIDE_EFFECTS; {method.path} is not"
                )
        return ConnectClient(path, streaming=streams, use_get=settings.use_get, **common)

    async def aclose(self) -> None:
        """Close every connection."""
        self._prepared.clear()
        self._routes.clear()
        await self.pool.aclose()
