"""Unary native gRPC on the HTTP/2 frame layer: bench's hot path for ``--protocol grpc``.

Requests go out over `rpcctl.transport.lean_h2` as a header list built once per distinct
metadata (`GrpcClient`'s head) and one uncompressed envelope per distinct request. An answer
that `rpcctl.protocols.grpc.plainly_ok_unary` accepts costs a few byte comparisons; every other
answer goes through `GrpcDecoder`, the decoder every native gRPC call uses, so bench reports
the codes and messages `rpcctl call` does. Zero or two response messages are UNIMPLEMENTED.

Streaming calls go to a `ChannelInvoker` of their own.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rpcctl.bench.lean_invoker import BODY_SLACK, CACHE_ENTRIES, LEAN_ENV, endpoint_for
from rpcctl.errors import ProtocolError, RpcError
from rpcctl.protocols.grpc import GrpcClient, GrpcDecoder, plainly_ok_unary
from rpcctl.transport.lean_h2 import H2Client, H2Limits, H2Response
from rpcctl.wire.envelope import encode_envelope
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.bench.invoker import ChannelInvoker
    from rpcctl.call import MethodInfo
    from rpcctl.transport.target import ChannelSettings
    from rpcctl.wire.metadata import Metadata

# Bench encodes native gRPC requests as proto (`rpcctl.cli.bench_run`).
CODEC = "proto"


def lean_grpc_supported(settings: ChannelSettings, method: MethodInfo) -> bool:
    """Whether `LeanGrpcInvoker` covers these settings: unary native gRPC (h2c, TLS or unix socket)."""
    from rpcctl.transport.target import RpcProtocol

    if os.environ.get(LEAN_ENV, "1") == "0" or settings.protocol is not RpcProtocol.GRPC:
        return False
    return not (method.kind.client_streams or method.kind.server_streams)


class LeanGrpcInvoker:
    """Unary native gRPC calls of one method, multiplexed on one HTTP/2 connection."""

    def __init__(
        self, settings: ChannelSettings, method: MethodInfo, metadata: Metadata, timeout: float | None
    ) -> None:
        from rpcctl.transport.tls import ssl_context, uses_tls

        self.settings = settings
        self.method = method
        self.timeout = timeout
        self._metadata = metadata
        # Bounds the messages received, and (for now, as grpcio did) the ones sent.
        self._max = settings.max_message_size
        target = settings.target
        tls = uses_tls(settings)
        if settings.authority:
            authority = settings.authority
        elif target.unix_path is not None:
            authority = "localhost"  # a unix socket has no host name
        else:
            authority = target.address
        # A gRPC server serves the bare method path: the target's path prefix is not sent.
        self._pseudo: list[tuple[bytes, bytes]] = [
            (b":method", b"POST"),
            (b":scheme", b"https" if tls else b"http"),
            (b":path", method.path.encode("latin-1")),
            (b":authority", authority.encode("latin-1")),
        ]
        self._headers = self._with_metadata(metadata)
        self.pool = H2Client(
            endpoint_for(settings, ssl_context(settings, ["h2"]) if tls else None),
            limits=H2Limits(max_body=self._max + BODY_SLACK),
        )
        self._bodies: dict[bytes, bytes] = {}
        self._fallback: ChannelInvoker | None = None

    def _with_metadata(self, metadata: Metadata) -> list[tuple[bytes, bytes]]:
        """The request header list: `GrpcClient`'s head for this metadata, as bytes."""
        head = GrpcClient(
            self.method.path, codec=CODEC, metadata=metadata, timeout=self.timeout, max_message_size=self._max
        ).stream_head()
        pairs = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in head.headers]
        return self._pseudo + pairs

    def _body(self, request: bytes) -> bytes:
        if len(request) > self._max:
            # The words grpcio used for its max_send_message_length.
            raise RpcError(
                Code.RESOURCE_EXHAUSTED, f"Sent message larger than max ({len(request)} vs. {self._max})"
            )
        return encode_envelope(request)

    async def connect(self) -> None:
        """Open the connection now (before the clock starts); `TransportError` if it cannot be."""
        await self.pool.connect()

    async def unary(self, request: bytes, metadata: Metadata | None) -> None:
        """One unary call; a non-OK end raises `RpcError`."""
        body = self._bodies.get(request)
        if body is None:
            body = self._body(request)
            if len(self._bodies) < CACHE_ENTRIES:
                self._bodies[request] = body
        headers = self._headers if metadata is None else self._with_metadata(metadata)
        if self.timeout is None:
            response = await self.pool.request(headers, body)
        else:
            try:
                async with asyncio.timeout(self.timeout):
                    response = await self.pool.request(headers, body)
            except TimeoutError:
                raise RpcError(Code.DEADLINE_EXCEEDED, f"deadline of {self.timeout:g}s exceeded") from None
        if plainly_ok_unary(response.status, response.headers, response.body, response.trailers, self._max):
            return
        self._decode(response)

    def _decode(self, response: H2Response) -> None:
        """Any other answer, through `GrpcDecoder`: raises its `RpcError` unless it holds
        exactly one message (the unary cardinality rule)."""
        from rpcctl.wire.metadata import Metadata

        decoder = GrpcDecoder(CODEC, self._max)
        decoder.start(response.status, Metadata.from_header_bytes(response.headers))
        messages = decoder.feed(response.body) if response.body else []
        decoder.take_trailers(Metadata.from_header_bytes(response.trailers))
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
        """Close the connection (and the channel, if streams opened one)."""
        await self.pool.aclose()
        if self._fallback is not None:
            await self._fallback.aclose()


def _text(value: str | bytes | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value
