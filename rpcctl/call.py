"""The call contract: one stream API for every call kind and every protocol.

A `Channel` (one per target and protocol) opens `Call`s. A call is a stream in
both directions: `send` request messages, `close_send` to half-close, `receive`
responses until it returns None, then read `trailers` and `status`. Unary is a
stream of one message each way, not a second code path. Messages cross this
API as bytes already encoded with the call's codec, so the load tester sends
pre-encoded bytes and the CLI converts with `rpcctl.schema.jsoncodec`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from rpcctl.errors import Status
from rpcctl.wire.envelope import DEFAULT_MAX_MESSAGE_SIZE
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from google.protobuf.descriptor import MethodDescriptor

    from rpcctl.schema.registry import CallKind


@dataclass(frozen=True)
class MethodInfo:
    """What a channel needs to know about a method to call it."""

    path: str
    kind: CallKind
    no_side_effects: bool = False

    @classmethod
    def from_descriptor(cls, method: MethodDescriptor) -> MethodInfo:
        """The info of a method found in a schema."""
        from google.protobuf.descriptor_pb2 import MethodOptions

        from rpcctl.schema.registry import CallKind

        level = method.GetOptions().idempotency_level
        return cls(
            path=f"/{method.containing_service.full_name}/{method.name}",
            kind=CallKind.of(method),
            no_side_effects=level == MethodOptions.NO_SIDE_EFFECTS,
        )


@dataclass(frozen=True)
class CallOptions:
    """Per-call settings."""

    metadata: Metadata = field(default_factory=Metadata)
    timeout: float | None = None
    compression: str | None = None
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    # The codec of this call's messages when not the channel's (reflection is always proto).
    codec: str | None = None


@dataclass
class Timings:
    """Monotonic timestamps of a call's milestones, in seconds."""

    started: float = field(default_factory=time.monotonic)
    headers: float | None = None
    first_message: float | None = None
    ended: float | None = None

    def elapsed(self, until: float | None) -> float | None:
        """Seconds from the start of the call to `until`."""
        return None if until is None else until - self.started


class Call(Protocol):
    """A call in flight: the one stream API of every call kind."""

    timings: Timings

    async def send(self, message: bytes) -> None:
        """Send one request message (already encoded with the call's codec)."""

    async def close_send(self) -> None:
        """Half-close: no more request messages."""

    async def receive(self) -> bytes | None:
        """The next response message, or None once the stream ended with OK.

        Raises `RpcError` when the call ends with another status.
        """

    async def response_headers(self) -> Metadata:
        """The response headers, waiting for them if needed."""

    @property
    def trailers(self) -> Metadata:
        """The trailing metadata, complete once `receive` returned None or raised."""

    @property
    def status(self) -> Status | None:
        """The final status once the call ended, else None."""

    async def cancel(self) -> None:
        """Abandon the call (CANCELLED on the server)."""


class Channel(Protocol):
    """Opens calls to one target over one protocol."""

    codec: str

    async def open(self, method: MethodInfo, options: CallOptions) -> Call:
        """Start a call; request messages follow through `Call.send`."""

    async def aclose(self) -> None:
        """Close connections."""


async def unary(channel: Channel, method: MethodInfo, request: bytes, options: CallOptions) -> bytes:
    """Send one request, return the one response (or raise `RpcError`).

    A channel with a cheap unary method of its own (`RpcChannel.unary`) serves the call with
    it: the same verdicts, a fraction of the CPU.
    """
    cheap = getattr(channel, "unary", None)
    if cheap is not None:
        return await cheap(method, request, options)
    return await unary_through(channel, method, request, options)


async def unary_through(channel: Channel, method: MethodInfo, request: bytes, options: CallOptions) -> bytes:
    """A unary call through the general stream API (`Channel.open`, send, half-close, receive)."""
    call = await channel.open(method, options)
    await call.send(request)
    await call.close_send()
    response = await call.receive()
    if response is None:
        from rpcctl.errors import ProtocolError

        raise ProtocolError(Code.UNIMPLEMENTED, "unary call ended without a response message")
    extra = await call.receive()
    if extra is not None:
        from rpcctl.errors import ProtocolError

        raise ProtocolError(Code.UNIMPLEMENTED, "unary call answered with more than one message")
    return response


async def pump(call: Call, requests: AsyncIterable[bytes]) -> None:
    """Send every request of `requests`, then half-close."""
    async for message in requests:
        await call.send(message)
    await call.close_send()


async def responses(call: Call) -> AsyncIterator[bytes]:
    """Every response message of a call, in order; raises `RpcError` at a non-OK end."""
    while (message := await call.receive()) is not None:
        yield message
