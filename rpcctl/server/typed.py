"""Handlers from async functions that work on protobuf messages, for all four call kinds.

A `Handler` deals in bytes of the call's codec; these adapters decode each request into the
method's input message class and encode each response, with the proto or JSON codec the
client chose (JSON resolves ``Any`` through the schema's pool). Write the function for the
method's kind, and the function's second argument is the `ServerCall` (request headers,
response headers and trailers, deadline, peer):

    async def echo(request, call):                    # unary
        call.response_trailers.add("x-done", "yes")
        return EchoResponse(message=request.message)

    async def count(request, call):                   # server streaming: an async generator
        for n in range(request.count):
            yield CountResponse(n=n)

    async def total(requests, call):                  # client streaming: async iterator in
        return SumResponse(total=sum([r.n async for r in requests]))

    async def chat(requests, call):                   # bidi: async iterator in, generator out
        async for request in requests:
            yield EchoResponse(message=request.message)

    table = HandlerTable()
    table.add(method_handler(schema.find_method("test.v1.TestService/Echo"), echo, schema=schema))
    # or every method of a service at once, by method name:
    for handler in service_handlers(service_desc, {"Echo": echo, "Count": count}, schema=schema):
        table.add(handler)

Fail a call by raising `rpcctl.errors.RpcError(code, message, details)`; any other exception
ends it UNKNOWN with a generic message (and is logged). A request that does not decode ends
the call INTERNAL (gRPC's statuscodes.md: "Error parsing request proto" is INTERNAL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from google.protobuf import message_factory

from rpcctl.codec import Codec, codec_for
from rpcctl.errors import ProtocolError, RpcError
from rpcctl.schema.registry import CallKind, method_path
from rpcctl.server.call import Handler, ServerCall
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from google.protobuf.descriptor import Descriptor, MethodDescriptor, ServiceDescriptor
    from google.protobuf.message import Message

    from rpcctl.schema.registry import Schema

UnaryFn = Callable[[Any, ServerCall], Awaitable[Any]]
ServerStreamFn = Callable[[Any, ServerCall], AsyncIterator[Any]]
ClientStreamFn = Callable[[AsyncIterator[Any], ServerCall], Awaitable[Any]]
BidiFn = Callable[[AsyncIterator[Any], ServerCall], AsyncIterator[Any]]


class _Types:
    """The message classes and codecs of one method."""

    def __init__(self, method: MethodDescriptor, schema: Schema | None) -> None:
        self.input = _message_class(method.input_type, schema)
        self.output = _message_class(method.output_type, schema)
        pool = schema.pool if schema is not None else method.input_type.file.pool
        self._codecs: dict[str, Codec] = {"proto": codec_for("proto"), "json": codec_for("json", pool)}
        self.output_name = method.output_type.full_name

    def codec(self, call: ServerCall) -> Codec:
        return self._codecs.get(call.codec) or self._codecs["proto"]

    def decode(self, call: ServerCall, data: bytes) -> Message:
        try:
            return self.codec(call).decode(data, self.input)
        except ProtocolError as exc:
            # connect-go's answer to JSON it cannot unmarshal; grpc-go's to bad binary is INTERNAL.
            code = Code.INVALID_ARGUMENT if call.codec == "json" else Code.INTERNAL
            raise RpcError(code, f"cannot decode the request: {exc.message}") from exc

    def encode(self, call: ServerCall, message: Message) -> bytes:
        if message.DESCRIPTOR.full_name != self.output_name:
            raise TypeError(f"handler returned a {message.DESCRIPTOR.full_name}, not a {self.output_name}")
        return self.codec(call).encode(message)


def _message_class(desc: Descriptor, schema: Schema | None) -> type[Message]:
    if schema is not None:
        return schema.message_class(desc)
    return message_factory.GetMessageClass(desc)


async def _requests(call: ServerCall, types: _Types) -> AsyncIterator[Any]:
    while (data := await call.receive()) is not None:
        yield types.decode(call, data)


async def _one_request(call: ServerCall, types: _Types) -> Any:
    data = await call.receive()
    # The server reads exactly one request before a unary or server-stream handler runs.
    return types.decode(call, data if data is not None else b"")


def method_handler(
    method: MethodDescriptor,
    fn: Callable[..., Any],
    *,
    schema: Schema | None = None,
    path: str | None = None,
) -> Handler:
    """A Handler running ``fn`` for ``method``, whatever its call kind (see the module doc).

    ``path`` overrides ``/pkg.Service/Method`` (to serve a method under another name).
    """
    kind = CallKind.of(method)
    types = _Types(method, schema)

    async def unary(call: ServerCall) -> None:
        await call.send(types.encode(call, await fn(await _one_request(call, types), call)))

    async def server_stream(call: ServerCall) -> None:
        async for response in fn(await _one_request(call, types), call):
            await call.send(types.encode(call, response))

    async def client_stream(call: ServerCall) -> None:
        await call.send(types.encode(call, await fn(_requests(call, types), call)))

    async def bidi(call: ServerCall) -> None:
        async for response in fn(_requests(call, types), call):
            await call.send(types.encode(call, response))

    handle = {
        CallKind.UNARY: unary,
        CallKind.SERVER_STREAM: server_stream,
        CallKind.CLIENT_STREAM: client_stream,
        CallKind.BIDI: bidi,
    }[kind]
    options = method.GetOptions()
    no_side_effects = options.idempotency_level == options.NO_SIDE_EFFECTS
    return Handler(path or method_path(method), kind, handle, no_side_effects=no_side_effects)


def service_handlers(
    service: ServiceDescriptor,
    functions: Mapping[str, Callable[..., Any]],
    *,
    schema: Schema | None = None,
) -> list[Handler]:
    """Handlers for the methods of ``service`` named in ``functions`` (by method name).

    Raises KeyError for a name that is not a method of the service.
    """
    handlers = []
    for name, fn in functions.items():
        method = service.methods_by_name.get(name)
        if method is None:
            raise KeyError(f"{service.full_name} has no method {name!r}")
        handlers.append(method_handler(method, fn, schema=schema))
    return handlers
