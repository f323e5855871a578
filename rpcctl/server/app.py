"""The ASGI application: one address serving Connect, gRPC-Web and native gRPC.

Server rules: gRPC's PROTOCOL-HTTP2.md and PROTOCOL-WEB.md, connectrpc.com/docs/protocol, and
the Connect conformance suite's server cases.

Dispatch is by content type, then path (after stripping the optional prefix):

| request | protocol |
|---|---|
| ``application/grpc[+proto|+json]`` (HTTP/2 with ``te: trailers``) | native gRPC |
| ``application/grpc-web[-text][+proto|+json]`` | gRPC-Web |
| ``application/connect+proto|json`` | Connect streaming |
| ``application/proto|json`` POST, or GET ``?encoding=&message=`` | Connect unary |

What is refused before any handler runs: another content type or an unknown codec → 415 with
``accept-post``; a verb other than POST (or GET for Connect) → 405 with ``allow``; GET on a
method that has side effects → 405; an unknown path → 404 (Connect) or UNIMPLEMENTED (gRPC,
gRPC-Web); gRPC over HTTP/1.1 → 505. Everything else is a call (`HttpServerCall`).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from rpcctl.errors import RpcctlError, RpcError
from rpcctl.protocols import connect_server, grpc_server, grpc_web_server
from rpcctl.protocols.base_server import ResponseHead
from rpcctl.server.asgi_io import AsgiIO, Receive, Scope, Send, peer_of, scope_headers
from rpcctl.server.call import RawCall
from rpcctl.server.http_call import HttpServerCall, StreamingHalf, UnaryHalf
from rpcctl.server.observer import CallObserver
from rpcctl.transport.target import RpcProtocol
from rpcctl.wire.connect_error import JSON_CONTENT_TYPE, connect_error_body
from rpcctl.wire.envelope import DEFAULT_MAX_MESSAGE_SIZE
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from google.protobuf.descriptor import MethodDescriptor

    from rpcctl.call_events import EventBus
    from rpcctl.schema.registry import Schema
    from rpcctl.server.call import HandlerTable

log = logging.getLogger("rpcctl.server")

CODECS = ("proto", "json")
ACCEPT_POST = ", ".join(
    [
        "application/grpc",
        "application/grpc+proto",
        "application/grpc+json",
        "application/grpc-web+proto",
        "application/grpc-web+json",
        "application/grpc-web-text+proto",
        "application/grpc-web-text+json",
        "application/connect+proto",
        "application/connect+json",
        "application/proto",
        "application/json",
    ]
)
HTTP2_VERSIONS = ("2", "3")


class RpcApp:
    """An ASGI app serving a `HandlerTable` over all three protocols."""

    def __init__(
        self,
        table: HandlerTable,
        *,
        prefix: str = "",
        schema: Schema | None = None,
        bus: EventBus | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        self.table = table
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.schema = schema
        self.bus = bus
        self.max_message_size = max_message_size
        self._methods: dict[str, MethodDescriptor | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point (``http`` and ``lifespan`` scopes)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        io = AsgiIO(scope, receive, send)
        try:
            await self._http(scope, io)
        except Exception:  # never a traceback to the client, never a crashed connection
            log.exception("internal error serving %s", scope.get("path"))
            if not io.started:
                await io.respond(ResponseHead(500, [("content-length", "0")]))

    async def _http(self, scope: Scope, io: AsgiIO) -> None:
        method = str(scope.get("method", ""))
        raw_path = bytes(scope.get("raw_path") or str(scope.get("path", "")).encode()).decode("latin-1")
        path = self._strip_prefix(raw_path)
        headers = Metadata.from_wire_pairs(scope_headers(scope))
        if method not in ("GET", "POST"):
            await _method_not_allowed(io, "GET, POST")
            return
        query = bytes(scope.get("query_string", b""))
        protocol, half, buffered = self._classify(method, _text(headers.get("content-type")), headers, query)
        if half is None or half.codec not in CODECS:
            await io.respond(ResponseHead(415, [("accept-post", ACCEPT_POST), ("content-length", "0")]))
            return
        if path is None and protocol is RpcProtocol.GRPC and raw_path.count("/") == 2:
            path = raw_path  # native gRPC clients cannot send a path prefix
        handler = self.table.lookup(path) if path is not None else None
        relay = self.table.relay if handler is None else None
        if (handler is None and relay is None) or path is None:
            await self._unimplemented(io, protocol, half, raw_path)
            return
        if method == "GET" and handler is not None and not handler.no_side_effects:
            await _method_not_allowed(io, "POST")
            return
        if protocol is RpcProtocol.GRPC and io.http_version not in HTTP2_VERSIONS:
            await io.respond(_grpc_status_head(505, Code.INTERNAL, "gRPC requires HTTP/2"))
            return
        if protocol is RpcProtocol.GRPC and not (io.supports_trailers and _te_trailers(headers)):
            message = "gRPC requests need 'te: trailers' (the status travels in HTTP trailers)"
            await io.respond(
                _grpc_status_head(200, Code.INTERNAL, message, _text(headers.get("content-type")))
            )
            return
        if relay is not None:
            await relay.relay(
                RawCall(
                    io=io,
                    protocol=protocol,
                    half=half,
                    method=method,
                    path=path,
                    query=query,
                    headers=headers,
                    peer=peer_of(scope),
                    max_body=self.max_message_size,
                    streams_request=not buffered,
                    unary_response=buffered,
                )
            )
            return
        assert handler is not None  # relay was None
        desc = self._method(path)
        kind = handler.kind
        call_id = uuid.uuid4().hex[:16]
        call = HttpServerCall(
            io=io,
            half=half,
            buffered=buffered,
            method_path=path,
            protocol=protocol,
            request_headers=headers,
            peer=peer_of(scope),
            call_id=call_id,
            kind=kind,
            observer=CallObserver(self.bus, self.schema, call_id, path, half.codec, desc),
        )
        await call.run(handler.handle)

    def _classify(
        self, method: str, content_type: str | None, headers: Metadata, query: bytes
    ) -> tuple[RpcProtocol, StreamingHalf | UnaryHalf | None, bool]:
        size = self.max_message_size
        if method == "GET":
            return RpcProtocol.CONNECT, connect_server.ConnectUnaryServer.for_get(headers, query, size), True
        codec = grpc_server.parse_content_type(content_type)
        if codec is not None:
            return RpcProtocol.GRPC, grpc_server.GrpcServer(headers, codec, size), False
        web = grpc_web_server.parse_content_type(content_type)
        if web is not None:
            text, codec = web
            web_half = (
                grpc_web_server.GrpcWebServer(headers, codec, size, text=text) if codec in CODECS else None
            )
            return RpcProtocol.GRPC_WEB, web_half, False
        codec = connect_server.parse_stream_content_type(content_type)
        if codec is not None:
            stream_half = (
                connect_server.ConnectStreamServer(headers, codec, size) if codec in CODECS else None
            )
            return RpcProtocol.CONNECT, stream_half, False
        codec = connect_server.parse_unary_content_type(content_type)
        if codec is None:
            return RpcProtocol.CONNECT, None, True
        return RpcProtocol.CONNECT, connect_server.ConnectUnaryServer(headers, codec, size), True

    def _strip_prefix(self, path: str) -> str | None:
        if not self.prefix:
            return path
        if path.startswith(self.prefix + "/"):
            return path[len(self.prefix) :]
        return None

    def _method(self, path: str) -> MethodDescriptor | None:
        if self.schema is None:
            return None
        if path not in self._methods:
            found: MethodDescriptor | None = None
            service, _, name = path.strip("/").partition("/")
            try:
                found = self.schema.pool.FindServiceByName(service).FindMethodByName(name)
            except (KeyError, RpcctlError):
                found = None
            self._methods[path] = found
        return self._methods[path]

    async def _unimplemented(
        self, io: AsgiIO, protocol: RpcProtocol, half: StreamingHalf | UnaryHalf, raw_path: str
    ) -> None:
        error = RpcError(Code.UNIMPLEMENTED, f"{raw_path} is not implemented")
        if protocol is RpcProtocol.CONNECT:
            await io.respond(
                ResponseHead(404, [("content-type", JSON_CONTENT_TYPE)]), connect_error_body(error)
            )
            return
        streaming = half  # gRPC and gRPC-Web: 200 with grpc-status 12
        await io.start(streaming.response_head(Metadata()))  # type: ignore[union-attr]
        await io.finish(streaming.end(error, Metadata()))  # type: ignore[union-attr]


def _text(value: str | bytes | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _te_trailers(headers: Metadata) -> bool:
    return any(
        isinstance(v, str) and "trailers" in [p.strip().lower() for p in v.split(",")]
        for v in headers.get_all("te")
    )


def _grpc_status_head(status: int, code: Code, message: str, content_type: str | None = None) -> ResponseHead:
    from rpcctl.wire.grpc_status import encode_grpc_message

    headers = [("content-type", content_type or grpc_server.MEDIA)] if status == 200 else []
    headers += [("grpc-status", str(int(code))), ("grpc-message", encode_grpc_message(message))]
    return ResponseHead(status, headers)


async def _method_not_allowed(io: AsgiIO, allow: str) -> None:
    await io.respond(ResponseHead(405, [("allow", allow), ("content-length", "0")]))


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
