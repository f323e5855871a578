"""The recording proxy's relay: each call passed to the upstream as bytes, not re-encoded.

A proxy is an intermediary in the sense of RFC 9110 §3.7: the request line, headers and body
that the client sent go to the upstream, and the upstream's status, headers, body and
trailers come back, unchanged except for what belongs to one hop (connection-specific
fields, RFC 9110 §7.6.1 and RFC 9113 §8.2.2; `host`/`:authority` name the upstream). Both
sides speak the client's protocol, so message envelopes, compressed messages, Connect error
JSON (with any `debug` of its details), `grpc-status-details-bin` and unknown fields cross
byte for byte.

Each side has its own HTTP version: the upstream's is the pool's choice (h2c first when no
version was chosen, HTTP/1.1 once the upstream shows it lacks HTTP/2), so an HTTP/1.1 client
reaches an h2c-only upstream and an h2c client an HTTP/1.1 one. Native gRPC needs HTTP/2 on
both hops (gRPC's PROTOCOL-HTTP2.md).

Recording is on the side: with a subscriber on the bus, a `rpcctl.proxy.tap.Tap` decodes the
bytes as they pass and publishes the events (START, REQUEST, RESPONSE, END). Nothing is
decoded when nobody listens.

The errors the proxy makes itself (the upstream cannot be reached, breaks, or the deadline
passes before it answers) are written in the client's protocol and name the upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any

from rpcctl.errors import RpcctlError, RpcError, TransportError
from rpcctl.protocols.base_server import ResponseEnd, ResponseHead
from rpcctl.protocols.exchange import RequestHead
from rpcctl.proxy.decoding import MessageDecoder
from rpcctl.proxy.tap import Tap
from rpcctl.server.asgi_io import Disconnected
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from rpcctl.wire.grpc_status import encode_grpc_message
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.call_events import EventBus
    from rpcctl.schema.registry import Schema
    from rpcctl.server.call import RawCall
    from rpcctl.transport.exchange import Exchange
    from rpcctl.transport.pool import HttpPool, HttpVersion

# Connection-specific fields: each hop's HTTP layer writes its own (RFC 9110 §7.6.1, RFC 9113
# §8.2.2). `host` becomes the upstream's authority; lengths and framing are the hop's own.
HOP_REQUEST = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "transfer-encoding",
        "upgrade",
        "http2-settings",
        "content-length",
    }
)
# The server adds its own `date` and `server`; two of each would be wrong.
HOP_RESPONSE = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}
    | {"content-length", "date", "server"}
)
TE_TRAILERS = "trailers"
GRPC_STATUS = "grpc-status"
HTTP_OK = 200


class Relay:
    """The proxy's relay to one upstream: one connection pool, shared by every protocol."""

    def __init__(
        self,
        upstream: ChannelSettings | str,
        bus: EventBus | None = None,
        schema: Schema | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        from rpcctl.transport.pool import HttpPool

        if isinstance(upstream, str):
            upstream = ChannelSettings(Target.parse(upstream))
        if upstream.http2 is None:
            # Nobody chose the upstream's HTTP version: h2c first (one connection for every
            # call, full duplex), HTTP/1.1 once the upstream shows it lacks HTTP/2.
            upstream = dataclasses.replace(upstream, prefer_http2=True)
        # The pool's own protocol only decides whether HTTP/2 is required; gRPC checks below.
        self.settings = dataclasses.replace(upstream, protocol=RpcProtocol.CONNECT)
        self.upstream = str(upstream.target)
        self.bus = bus
        self.headers = headers
        """Added to every relayed request (lower-case names), after the client's."""
        self.decoder = MessageDecoder(schema)
        self.pool: HttpPool = HttpPool(self.settings)
        self._version: HttpVersion | None = None

    async def relay(self, call: RawCall) -> None:
        """Relay one call (the `rpcctl.server.call.Relay` signature); never raises RpcError."""
        await _RelayedCall(self, call).run()

    def error(self, exc: BaseException) -> RpcError:
        """The error the proxy answers when the upstream fails: its code (UNAVAILABLE when it
        could not be reached), and a message that names the upstream."""
        if isinstance(exc, RpcError):
            return RpcError(exc.code, f"upstream {self.upstream}: {exc.message or exc.code.name}")
        reason = str(exc) or type(exc).__name__
        return RpcError(Code.UNAVAILABLE, f"upstream {self.upstream} unavailable: {reason}")

    async def version(self) -> HttpVersion:
        """The upstream's HTTP version, chosen once (the pool reconnects on its own)."""
        if self._version is None:
            self._version = await self.pool.choose(bidi=True)
        return self._version

    async def open(self, head: RequestHead, body: bytes | None, version: HttpVersion) -> Exchange:
        """Start one exchange upstream; a connection that cannot be made chooses again next time."""
        try:
            return await self.pool.open(head, body, version)
        except TransportError:
            self._version = None
            raise

    @property
    def recording(self) -> bool:
        """Whether events are wanted now (a bus with at least one subscriber)."""
        return self.bus is not None and self.bus.has_subscribers

    async def aclose(self) -> None:
        """Close the upstream connections."""
        with contextlib.suppress(Exception):
            await self.pool.aclose()


class _Refused(RpcError):
    """An error the proxy answers as it is (the client's request is at fault)."""


class _RelayedCall:
    """One call being relayed."""

    def __init__(self, relay: Relay, call: RawCall) -> None:
        self.relay = relay
        self.call = call
        self.io = call.io
        self.exchange: Exchange | None = None
        bus = relay.bus
        # Nothing is decoded when nobody listens.
        self.recorder = Tap(bus, relay.decoder, call) if bus is not None and bus.has_subscribers else None
        self.pump: asyncio.Task[None] | None = None  # the request body, then the client's leaving
        self.task: asyncio.Task[Any] | None = None  # the relay's own, cancelled if the client leaves
        self.client_gone = False
        self.finishing = False
        self.error: RpcError | None = None  # the status, when the proxy made it

    async def run(self) -> None:
        recorder = self.recorder
        if recorder is not None:
            recorder.start()
        try:
            timeout = self.call.half.timeout()
        except RpcError as exc:  # a malformed timeout header: the client's error, not the upstream's
            self.error = exc
        else:
            self.error = await self._bounded(timeout)
        if recorder is not None:
            await recorder.end(self.error)
        if self.error is not None and not self.io.gone:
            await self._answer(self.error)

    async def _bounded(self, timeout: float | None) -> RpcError | None:
        """Relay within the client's deadline; the error the proxy must answer, if any."""
        self.task = asyncio.current_task()
        try:
            async with asyncio.timeout(timeout):
                await self._relay()
        except asyncio.CancelledError:
            if not self.client_gone or self.task is None:
                raise
            self.task.uncancel()  # cancelled by the pump: the client went away, not the server
            return RpcError(Code.CANCELLED, "client went away")
        except TimeoutError:
            return RpcError(
                Code.DEADLINE_EXCEEDED, f"deadline exceeded waiting for upstream {self.relay.upstream}"
            )
        except Disconnected:
            return RpcError(Code.CANCELLED, "client went away")
        except _Refused as exc:
            return exc
        except RpcError as exc:  # from the upstream hop
            return self.relay.error(exc)
        except (RpcctlError, OSError) as exc:
            return self.relay.error(exc)
        finally:
            pump = self.pump
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump
            if self.exchange is not None:
                with contextlib.suppress(Exception):
                    await self.exchange.aclose()
        return None

    async def _relay(self) -> None:
        """Open the upstream exchange, stream the request, relay the response."""
        from rpcctl.transport.pool import HttpVersion

        call = self.call
        version = await self.relay.version()
        if call.protocol is RpcProtocol.GRPC and version is not HttpVersion.HTTP2:
            raise TransportError(
                "reached over HTTP/1.1, which cannot carry native gRPC (gRPC needs HTTP/2 end to end)"
            )
        head = RequestHead(call.method, self._path(), _request_pairs(call.headers) + self.relay.headers)
        if self._streams_request():
            self.exchange = await self.relay.open(head, None, version)
            self.pump = asyncio.create_task(self._pump(self.exchange))
        else:
            body = await self._whole_body()
            self.exchange = await self.relay.open(head, body, version)
            if self.recorder is not None:
                self.recorder.request(body, last=True)
            self.pump = asyncio.create_task(self._watch())
        await self._respond(self.exchange)

    def _streams_request(self) -> bool:
        """Whether the request body streams on: not when it carries one message (Connect unary,
        or a method the schema says is not client streaming), which goes whole, as it came."""
        if not self.call.streams_request:
            return False
        found = self.relay.decoder.method(self.call.path)
        return found is None or found[2].client_streams

    def _streams_response(self) -> bool:
        """Whether the response may carry several messages (unknown: it may)."""
        if self.call.unary_response:
            return False
        found = self.relay.decoder.method(self.call.path)
        return found is None or found[2].server_streams

    def _path(self) -> str:
        path = self.relay.settings.target.prefix + self.call.path
        return f"{path}?{self.call.query.decode('latin-1')}" if self.call.query else path

    async def _whole_body(self) -> bytes:
        parts: list[bytes] = []
        size, limit = 0, self.call.max_body
        while (chunk := await self.io.read_chunk()) is not None:
            size += len(chunk)
            if size > limit:
                upstream = self.relay.upstream
                raise _Refused(
                    Code.RESOURCE_EXHAUSTED,
                    f"request body larger than {limit} bytes: the proxy for upstream {upstream} refuses it",
                )
            parts.append(chunk)
        return b"".join(parts)

    async def _pump(self, exchange: Exchange) -> None:
        """Client → upstream, as the body arrives; then end it and watch for the client leaving."""
        recorder = self.recorder
        try:
            while (chunk := await self.io.read_chunk()) is not None:
                if recorder is not None:
                    recorder.request(chunk)
                await exchange.write(chunk)
        except Disconnected:
            self._client_left()
            return
        if recorder is not None:
            recorder.request(b"", last=True)
        await exchange.end()
        await self._watch()

    async def _watch(self) -> None:
        """Wait for the client to go away (an HTTP/2 reset, a closed connection)."""
        await self.io.wait_disconnect()
        self._client_left()

    def _client_left(self) -> None:
        # Once the response is being finished, the client leaving is the normal end.
        if not self.finishing and self.task is not None:
            self.client_gone = True
            self.task.cancel()

    async def _respond(self, exchange: Exchange) -> None:
        """Upstream → client: status, headers, body chunks as they arrive, trailers."""
        # The pump cancels this task if the client goes away meanwhile.
        status, headers = await exchange.response()
        pairs = _response_pairs(exchange, headers)
        recorder = self.recorder
        if recorder is not None:
            recorder.response_head(status, headers)
        io = self.io
        grpc = self.call.protocol is RpcProtocol.GRPC and status == HTTP_OK
        if grpc and GRPC_STATUS in headers:
            # A status in the headers is Trailers-Only when nothing follows (gRPC's
            # PROTOCOL-HTTP2.md); see what follows before the head goes out, so that trailers
            # are announced only when there are some, as the upstream sent them.
            chunk = await exchange.read()
            trailers = chunk is not None or bool(len(exchange.trailers))
        else:
            # Native gRPC: the trailers, whatever they hold (or an empty block), are relayed.
            chunk = await exchange.read() if not grpc else b""
            trailers = grpc
        head = ResponseHead(status, pairs, trailers=trailers)
        # A response of one message is collected and goes out, head included, with its end (one
        # write, and one syscall, instead of one per chunk: the message and a gRPC-Web trailer
        # frame often come apart). Nothing has gone out if the upstream breaks off meanwhile, so
        # the client gets the proxy's error, not a cut answer that looks whole (a Connect unary
        # body has no end of its own). A stream of messages goes on as it arrives.
        hold = not self._streams_response()
        if not hold:
            await io.start(head)
        held: list[bytes] = []
        while chunk is not None:
            if chunk:
                if recorder is not None:
                    recorder.response(chunk)
                if hold:
                    held.append(chunk)
                else:
                    await io.write(chunk)
            chunk = await exchange.read()
        last = b"".join(held)
        end = _trailer_pairs(exchange) if trailers else []
        if trailers and not end:
            # The upstream ended without trailers, but HTTP/2 cannot end a stream with an empty
            # block and the head already announced trailers: the status the client would have
            # concluded (UNKNOWN), said by the proxy, naming the upstream.
            message = f"upstream {self.relay.upstream} ended the response without trailers: no grpc-status"
            end = [(GRPC_STATUS, str(int(Code.UNKNOWN))), ("grpc-message", encode_grpc_message(message))]
        if recorder is not None:
            recorder.response_end(exchange.trailers)
            await recorder.end(None)
        self.finishing = True
        if hold:
            await io.start(head)
        await io.finish(ResponseEnd(last, end))

    async def _answer(self, error: RpcError) -> None:
        """Write the proxy's own error in the client's protocol."""
        half = self.call.half
        io = self.io
        if io.finished:
            return
        if self.call.unary_response:
            if io.started:
                await io.finish(ResponseEnd())
                return
            head, body = half.error(error, Metadata(), Metadata())  # type: ignore[union-attr]
            await io.respond(head, body)
            return
        if not io.started:
            await io.start(half.response_head(Metadata()))  # type: ignore[union-attr]
        await io.finish(half.end(error, Metadata()))  # type: ignore[union-attr]


def _request_pairs(headers: Metadata) -> tuple[tuple[str, str], ...]:
    pairs = []
    for name, value in headers.to_wire_pairs(strict=False):
        if name in HOP_REQUEST or name.startswith(":"):
            continue
        if name == "te" and value.strip().lower() != TE_TRAILERS:
            continue  # RFC 9113 §8.2.2: only "trailers" may cross into HTTP/2
        pairs.append((name, value))
    return tuple(pairs)


def _response_pairs(exchange: Exchange, headers: Metadata) -> list[tuple[str, str]]:
    """The upstream's response headers as they came (raw where the backend keeps them)."""
    raw: list[tuple[bytes, bytes]] | None = getattr(exchange, "headers", None)
    if raw is not None:
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw if not k.startswith(b":")]
    else:
        pairs = headers.to_wire_pairs(strict=False)
    return [(k, v) for k, v in pairs if k not in HOP_RESPONSE]


def _trailer_pairs(exchange: Exchange) -> list[tuple[str, str]]:
    raw: list[tuple[bytes, bytes]] | None = getattr(exchange, "raw_trailers", None)
    if raw is not None:
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw if not k.startswith(b":")]
    return exchange.trailers.to_wire_pairs(strict=False)
