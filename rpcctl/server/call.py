"""What a handler sees of one call, whatever the protocol: the server half of the call API.

A handler is `async def handle(call: ServerCall) -> None`. It reads request messages
with `receive()` until None, writes responses with `send()`, may add response headers
before its first `send` and trailers at any time, and fails the call by raising
`rpcctl.errors.RpcError`. Messages are bytes in the call's codec (`proto` or `json`);
`rpcctl.server.typed` adapts handlers that work on protobuf messages.

`deadline` is on the `time.monotonic()` clock (None: no timeout); when it passes, or the
client goes away, the server cancels the handler's task.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from rpcctl.wire.metadata import Metadata

if TYPE_CHECKING:
    from rpcctl.schema.registry import CallKind
    from rpcctl.server.asgi_io import AsgiIO
    from rpcctl.server.http_call import StreamingHalf, UnaryHalf
    from rpcctl.transport.target import RpcProtocol


class ServerCall(Protocol):
    """One call as its handler sees it."""

    method_path: str
    protocol: RpcProtocol
    codec: str
    request_headers: Metadata
    response_headers: Metadata
    response_trailers: Metadata
    deadline: float | None
    peer: str
    call_id: str
    # The call kind when the server knows the method (a handler's or the schema's), else None.
    kind: CallKind | None

    async def receive(self) -> bytes | None:
        """The next request message, or None once the client half-closed."""

    async def send(self, message: bytes) -> None:
        """Send one response message (the first send also sends the response headers)."""


Handle = Callable[[ServerCall], Awaitable[None]]


@dataclass(frozen=True)
class Handler:
    """A method the server serves: its path, call kind and coroutine."""

    path: str
    kind: CallKind
    handle: Handle
    no_side_effects: bool = False


@dataclass
class HandlerTable:
    """The methods a server serves, and what answers a method not in the table.

    `relay` (the recording proxy) takes every call whose path is not in the table, as
    bytes; without one, such calls end UNIMPLEMENTED.
    """

    handlers: dict[str, Handler] = field(default_factory=dict)
    relay: Relay | None = None

    def add(self, handler: Handler) -> None:
        """Serve `handler.path` with `handler`."""
        self.handlers[handler.path] = handler

    def lookup(self, path: str) -> Handler | None:
        """The handler of a path, if any."""
        return self.handlers.get(path)


@dataclass
class RawCall:
    """A call handed whole to a `Relay` before any of its body was read (the proxy's path).

    `path` is the method path (the server's prefix stripped), `method` the HTTP method and
    `query` the query string (a Connect GET carries its message there). `half` is the
    protocol's server half, for the relay's own errors and for decoding on the side.
    """

    io: AsgiIO
    protocol: RpcProtocol
    half: StreamingHalf | UnaryHalf
    method: str
    path: str
    query: bytes
    headers: Metadata
    peer: str
    max_body: int
    # False for a Connect unary request: its whole body comes before anything is sent on.
    streams_request: bool
    # True for a Connect unary response: one body, the error as JSON with an HTTP status.
    unary_response: bool


class Relay(Protocol):
    """Takes over calls whose path no handler serves, at the byte level (the proxy)."""

    async def relay(self, call: RawCall) -> None:
        """Serve one call; write its whole response."""
