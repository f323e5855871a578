"""The forwarding handler: every call the server receives, relayed to an upstream as it streams.

For each incoming `ServerCall` the `Forwarder` opens a call of the same method on the
upstream, over the protocol and codec the client used, and relays both directions at once
(full duplex for bidi): request messages as the client sends them, then the upstream's
response headers, messages, trailers and final status, unchanged. Headers cross minus the
hop-by-hop and protocol ones (PROTOCOLS.md §1.2, §9.4): each side's HTTP layer writes its
own. Messages are relayed as bytes, so methods the schema does not know pass through too;
the schema only decodes them for the events. The events are the ones the stand-in server
publishes (START, REQUEST, RESPONSE, END), with timings.

Errors: an upstream that cannot be reached, or fails at the transport level, ends the call
UNAVAILABLE with a message naming the upstream; the client cancelling cancels the upstream
call; the client's deadline is the upstream call's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import time
from typing import TYPE_CHECKING, Any

from rpcctl.call import CallOptions, MethodInfo
from rpcctl.errors import RpcctlError, RpcError, TransportError
from rpcctl.proxy.decoding import MessageDecoder
from rpcctl.server.call import HandlerTable
from rpcctl.server.events import CallEvent, EventKind
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from rpcctl.wire.metadata import HOP_BY_HOP, PROTOCOL_HEADERS, RESERVED_PREFIXES, Metadata
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from rpcctl.call import Call, Channel
    from rpcctl.schema.registry import CallKind, Schema
    from rpcctl.server.call import ServerCall
    from rpcctl.server.events import EventBus
    from rpcctl.server.serve import Server

# Never relayed: the HTTP layer and the protocol on each side own these (§1.2, §9.4, §9.10).
# `accept`, `x-grpc-web` and `x-user-agent` are set by the client library of each hop.
NOT_FORWARDED = frozenset(
    {
        *PROTOCOL_HEADERS,
        *HOP_BY_HOP,
        *RESERVED_PREFIXES,
        "accept",
        "x-grpc-web",
        "x-user-agent",
        "server",
        "vary",
    }
)
# Where each protocol names the compression of request messages (§1.3).
ENCODING_HEADERS = ("grpc-encoding", "connect-content-encoding", "content-encoding")
IDENTITY = "identity"
CONNECT_STREAM_PREFIX = "application/connect+"
_ids = itertools.count(1)


_NOT_FORWARDED_EXACT = frozenset(n for n in NOT_FORWARDED if not n.endswith("-"))
_NOT_FORWARDED_PREFIXES = (":", *(n for n in NOT_FORWARDED if n.endswith("-")))


def forwarded(md: Metadata) -> Metadata:
    """The metadata a proxy passes on: user metadata, authorization and so on."""
    return Metadata.from_pairs(
        (key, value)
        for key, value in md
        if key not in _NOT_FORWARDED_EXACT and not key.startswith(_NOT_FORWARDED_PREFIXES)
    )


class Forwarder:
    """The proxy's handler: relays each call to `upstream`, one channel per protocol and codec."""

    def __init__(
        self,
        upstream: ChannelSettings | str,
        bus: EventBus | None = None,
        schema: Schema | None = None,
    ) -> None:
        if isinstance(upstream, str):
            upstream = ChannelSettings(Target.parse(upstream))
        self.settings = upstream
        self.upstream = str(upstream.target)
        self.bus = bus
        self.decoder = MessageDecoder(schema)
        self._channels: dict[tuple[RpcProtocol, str], Channel] = {}
        # Cleartext upstream without a chosen HTTP version: h2c first (one connection for
        # every call, bidi full duplex), HTTP/1.1 once the upstream shows it lacks HTTP/2.
        if upstream.http2 is None:
            self.settings = dataclasses.replace(upstream, prefer_http2=True)

    async def __call__(self, call: ServerCall) -> None:
        """Relay one call (the `Handle` signature)."""
        await _Relay(self, call).run()

    def channel(self, protocol: RpcProtocol, codec: str) -> Channel:
        """The (lazily opened) channel to the upstream for one protocol and codec."""
        from rpcctl.client import open_channel

        if protocol is RpcProtocol.GRPC:
            codec = "proto"
        key = (protocol, codec)
        channel = self._channels.get(key)
        if channel is None:
            settings = dataclasses.replace(self.settings, protocol=protocol, codec=codec)
            try:
                channel = open_channel(settings)
            except TransportError as exc:
                raise self.unavailable(exc) from exc
            self._channels[key] = channel
        return channel

    def unavailable(self, exc: Exception) -> RpcError:
        """The UNAVAILABLE error that names the upstream."""
        reason = str(exc) or type(exc).__name__
        address = self.settings.target.address
        for prefix in (f"cannot connect to {self.settings.target}: ", f"cannot connect to {address}: "):
            reason = reason.removeprefix(prefix)
        reason = reason[:1].lower() + reason[1:]
        return RpcError(Code.UNAVAILABLE, f"upstream {self.upstream} unavailable: {reason}")

    @property
    def recording(self) -> bool:
        """Whether events are wanted now (a bus with at least one subscriber)."""
        return self.bus is not None and self.bus.has_subscribers

    def publish(self, event: CallEvent) -> None:
        """Publish an event if there is a bus."""
        if self.bus is not None:
            self.bus.publish(event)

    async def aclose(self) -> None:
        """Close every upstream channel."""
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            with contextlib.suppress(Exception):
                await channel.aclose()


def proxy_table(
    upstream: ChannelSettings | str, bus: EventBus | None = None, schema: Schema | None = None
) -> HandlerTable:
    """A handler table whose relay passes every call to `upstream` as bytes.

    The relay is `table.relay`; close it with `await table.relay.aclose()`.
    """
    from rpcctl.proxy.relay import Relay

    return HandlerTable(relay=Relay(upstream, bus, schema))


class _Relay:
    """One call being relayed."""

    def __init__(self, forwarder: Forwarder, call: ServerCall) -> None:
        self.forwarder = forwarder
        self.call = call
        self.call_id = getattr(call, "call_id", "") or f"p{next(_ids)}"
        self.method = call.method_path
        self.started = time.monotonic()
        self.upstream_headers = Metadata()
        self.upstream_trailers = Metadata()
        self.codec = "proto" if call.protocol is RpcProtocol.GRPC else call.codec

    async def run(self) -> None:
        call = self.call
        if self.forwarder.recording:
            self._event(
                EventKind.START,
                info={
                    "method": self.method,
                    "protocol": call.protocol.value,
                    "codec": call.codec,
                    "headers": call.request_headers.items(),
                    "peer": call.peer,
                },
            )
        error: RpcError | None = None
        try:
            await self._relay()
        except RpcError as exc:
            error = exc
            raise
        except asyncio.CancelledError:
            # The server cancels a handler when the client goes away or its deadline passes.
            deadline = call.deadline
            if deadline is not None and time.monotonic() >= deadline:
                error = RpcError(Code.DEADLINE_EXCEEDED, "deadline exceeded")
            else:
                error = RpcError(Code.CANCELLED, "cancelled by the client")
            raise
        except RpcctlError as exc:
            error = self.forwarder.unavailable(exc)
            raise error from exc
        finally:
            self._end(error)

    async def _relay(self) -> None:
        call = self.call
        kind, no_side_effects = self._kind()
        options = CallOptions(
            metadata=forwarded(call.request_headers),
            timeout=self._timeout(),
            compression=self._compression(),
        )
        info = MethodInfo(self.method, kind, no_side_effects)
        channel = self.forwarder.channel(call.protocol, self.codec)
        try:
            upstream = await channel.open(info, options)
        except TransportError as exc:
            raise self.forwarder.unavailable(exc) from exc
        served_kind = getattr(call, "kind", None)
        if served_kind is not None and not served_kind.client_streams and kind is served_kind:
            # The server read the one request before the handler ran: receive() never waits,
            # so the request side cannot stall and no concurrent pump is needed.
            finished = False
            try:
                await self._pump_requests(upstream)
                await self._pump_responses(upstream)
                finished = True
            finally:
                if not finished:
                    with contextlib.suppress(Exception):
                        await upstream.cancel()
            return
        requests = asyncio.create_task(self._pump_requests(upstream))
        responses = asyncio.create_task(self._pump_responses(upstream))
        finished = False
        try:
            while not responses.done():
                await asyncio.wait({requests, responses}, return_when=asyncio.FIRST_COMPLETED)
                broken = requests.exception() if requests.done() and not requests.cancelled() else None
                if broken is not None:
                    # The client's request stream broke: nothing more can reach the upstream.
                    raise broken
            responses.result()
            finished = True
        finally:
            for task in (requests, responses):
                task.cancel()
            await asyncio.gather(requests, responses, return_exceptions=True)
            if not finished:
                with contextlib.suppress(Exception):
                    await upstream.cancel()

    async def _pump_requests(self, upstream: Call) -> None:
        """Client → upstream, as messages arrive; then half-close."""
        while (message := await self.call.receive()) is not None:
            self._message(EventKind.REQUEST, message)
            try:
                await upstream.send(message)
            except RpcctlError:
                return  # the upstream call ended; its status comes from the response side
        with contextlib.suppress(RpcctlError):
            await upstream.close_send()

    async def _pump_responses(self, upstream: Call) -> None:
        """Upstream → client: headers, messages as they arrive, trailers, status."""
        call = self.call
        try:
            # A trailers-only answer has no headers: receive() raises its status below.
            with contextlib.suppress(RpcError):
                self.upstream_headers = await upstream.response_headers()
            call.response_headers.extend(forwarded(self.upstream_headers))
            while (message := await upstream.receive()) is not None:
                self._message(EventKind.RESPONSE, message)
                await call.send(message)
        except RpcError as exc:
            self.upstream_trailers = upstream.trailers if len(upstream.trailers) else Metadata(exc.metadata)
            call.response_trailers.extend(forwarded(self.upstream_trailers))
            raise RpcError(exc.code, exc.message, exc.details) from exc
        except TransportError as exc:
            raise self.forwarder.unavailable(exc) from exc
        self.upstream_trailers = upstream.trailers
        call.response_trailers.extend(forwarded(self.upstream_trailers))

    def _kind(self) -> tuple[CallKind, bool]:
        """The call kind: from the schema, else from what the server saw, else by content type."""
        from rpcctl.schema.registry import CallKind

        found = self.forwarder.decoder.method(self.method)
        if found is not None:
            return found[2], found[3]
        kind = getattr(self.call, "kind", None)  # not part of the ServerCall protocol
        if isinstance(kind, CallKind):
            return kind, False
        if self.call.protocol is RpcProtocol.CONNECT:
            content_type = str(self.call.request_headers.get("content-type", "") or "")
            if content_type and not content_type.startswith(CONNECT_STREAM_PREFIX):
                return CallKind.UNARY, False
        # Unknown: bidi carries every shape, at worst over HTTP/1.1 half duplex.
        return CallKind.BIDI, False

    def _compression(self) -> str | None:
        """The client's request compression, used upstream too (messages cross decompressed)."""
        for name in ENCODING_HEADERS:
            value = self.call.request_headers.get(name)
            if isinstance(value, str) and value.strip() and value.strip().lower() != IDENTITY:
                return value.strip().lower()
        return None

    def _timeout(self) -> float | None:
        deadline = self.call.deadline
        if deadline is None:
            return None
        return max(deadline - time.monotonic(), 0.001)

    def _message(self, kind: EventKind, data: bytes) -> None:
        if not self.forwarder.recording:
            return
        decoded = self.forwarder.decoder.decode(
            self.method, data, self.codec, request=kind is EventKind.REQUEST
        )
        self._event(kind, message=decoded, raw=None if decoded is not None else data)

    def _end(self, error: RpcError | None) -> None:
        if not self.forwarder.recording:
            return
        info: dict[str, Any] = {
            "code": int(error.code) if error else 0,
            "message": error.message if error else "",
            "details": self.forwarder.decoder.details(error.details) if error else [],
            "trailers": self.upstream_trailers.items(),
            "response_headers": self.upstream_headers.items(),
            "duration": time.monotonic() - self.started,
        }
        self._event(EventKind.END, info=info)

    def _event(
        self,
        kind: EventKind,
        *,
        message: Any = None,
        raw: bytes | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.forwarder.publish(
            CallEvent(kind, self.call_id, self.method, message=message, raw=raw, info=info or {})
        )


@contextlib.asynccontextmanager
async def serve_proxy(
    upstream: ChannelSettings | str,
    *,
    listen: str = "127.0.0.1:0",
    bus: EventBus | None = None,
    schema: Schema | None = None,
    prefix: str | None = None,
    upstream_http2: bool | None = None,
    **server_options: Any,
) -> AsyncIterator[Server]:
    """Serve a recording proxy in front of `upstream` in the running loop, for the block.

    `prefix` (by default the upstream URL's path prefix, so clients keep their URLs) is
    stripped from incoming paths; the upstream's prefix is added back. The forwarder
    publishes the events on `bus` and the server gets no bus, so no event is doubled; no
    reflection or health is served locally, so those calls reach the upstream too.
    `upstream_http2` chooses the upstream's HTTP version (True: h2c prior knowledge, False:
    HTTP/1.1; None: h2c first, HTTP/1.1 if the upstream lacks HTTP/2).
    Other options go to `rpcctl.server.serve.Server` (certfile, keyfile, max_message_size).
    """
    from rpcctl.proxy.relay import Relay
    from rpcctl.server.serve import serve

    if isinstance(upstream, str):
        upstream = ChannelSettings(Target.parse(upstream))
    if upstream_http2 is not None:
        upstream = dataclasses.replace(upstream, http2=upstream_http2)
    relay = Relay(upstream, bus, schema)
    if prefix is None:
        prefix = relay.settings.target.prefix
    try:
        async with serve(HandlerTable(relay=relay), listen=listen, prefix=prefix, **server_options) as server:
            yield server
    finally:
        await relay.aclose()
