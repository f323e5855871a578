"""Unary native gRPC without grpcio: bench's hot path for ``--protocol grpc``.

Requests go out over `rpcctl.transport.lean_h2` as a header list built once per distinct
metadata and one uncompressed envelope per distinct request. A response that is plainly OK
(HTTP 200, a proto gRPC content type, exactly one uncompressed message within the size cap,
trailers whose grpc-status is 0 and that carry no status details) is accepted after a few
byte comparisons; every other response goes through `_decode`, which follows PROTOCOLS.md
§2.4 with `status_from_metadata`, so server statuses (code, percent-decoded message) are
the ones grpcio reports. Client-side verdicts keep grpcio's codes where the spec allows it
and its wording for a non-200 HTTP status; where grpcio is lax (no response message, two
of them, a truncated envelope) the call fails as `LeanHttpInvoker`'s does.

Streaming calls go to a `GrpcInvoker` (grpcio) of their own.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rpcctl.bench.lean_invoker import BODY_SLACK, CACHE_ENTRIES, LEAN_ENV, endpoint_for
from rpcctl.errors import ProtocolError, RpcError, UsageError
from rpcctl.transport.lean_h2 import H2Client, H2Limits, H2Response
from rpcctl.wire.envelope import FLAG_COMPRESSED, EnvelopeReader, encode_envelope
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.bench.invoker import GrpcInvoker
    from rpcctl.client import MethodInfo
    from rpcctl.transport.target import ChannelSettings
    from rpcctl.wire.metadata import Metadata

CONTENT_TYPE = b"content-type"
GRPC_CONTENT_TYPE = b"application/grpc"
GRPC_PROTO_CONTENT_TYPE = b"application/grpc+proto"
GRPC_STATUS = b"grpc-status"
GRPC_STATUS_DETAILS = b"grpc-status-details-bin"
GRPC_ENCODING = "grpc-encoding"
# grpcio's primary user agent for bench channels (`rpcctl.bench.grpc_channel`).
USER_AGENT_PREFIX = "rpcctl-bench"


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
        from rpcctl.protocols.exchange import USER_AGENT
        from rpcctl.transport.tls import ssl_context, uses_tls

        self.settings = settings
        self.method = method
        self.timeout = timeout
        self._metadata = metadata
        # As grpcio's max_receive_message_length and max_send_message_length (`make_grpc_channel`).
        self._max = settings.max_message_size
        target = settings.target
        tls = uses_tls(settings)
        if settings.authority:
            authority = settings.authority
        elif target.unix_path is not None:
            authority = "localhost"  # as grpcio names a unix: target
        else:
            authority = target.address
        # grpcio ignores the target's path prefix: a gRPC server serves the bare method path.
        self._head: list[tuple[bytes, bytes]] = [
            (b":method", b"POST"),
            (b":scheme", b"https" if tls else b"http"),
            (b":path", method.path.encode("latin-1")),
            (b":authority", authority.encode("latin-1")),
            (b"te", b"trailers"),
        ]
        if timeout is not None:
            from rpcctl.wire.timeout import encode_grpc_timeout

            self._head.append((b"grpc-timeout", encode_grpc_timeout(timeout).encode()))
        self._head += [
            (CONTENT_TYPE, GRPC_CONTENT_TYPE),
            (b"user-agent", f"{USER_AGENT_PREFIX} {USER_AGENT}".encode()),
        ]
        self._headers = self._with_metadata(metadata)
        self.pool = H2Client(
            endpoint_for(settings, ssl_context(settings, ["h2"]) if tls else None),
            limits=H2Limits(max_body=self._max + BODY_SLACK),
        )
        self._bodies: dict[bytes, bytes] = {}
        self._fallback: GrpcInvoker | None = None

    def _with_metadata(self, metadata: Metadata) -> list[tuple[bytes, bytes]]:
        """The request headers with this metadata (``-bin`` values as unpadded base64)."""
        try:
            pairs = metadata.to_wire_pairs()
        except ProtocolError as exc:
            raise UsageError(f"invalid request metadata: {exc.message}") from None
        return self._head + [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]

    def _body(self, request: bytes) -> bytes:
        if len(request) > self._max:
            # grpcio's words for its max_send_message_length.
            raise RpcError(
                Code.RESOURCE_EXHAUSTED, f"Sent message larger than max ({len(request)} vs. {self._max})"
            )
        return encode_envelope(request)

    async def connect(self) -> None:
        """Open the connection now (as `GrpcInvoker` waits for READY); `TransportError` if it cannot be."""
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
        if response.status == 200 and self._plainly_ok(response):
            return
        self._decode(response)

    def _plainly_ok(self, response: H2Response) -> bool:
        """The common OK response, recognised without `_decode` (which agrees on it)."""
        body = response.body
        if len(body) < 5 or body[0] != 0:
            return False
        size = len(body) - 5
        if size > self._max or int.from_bytes(body[1:5], "big") != size:
            return False
        status = None
        for name, value in response.trailers:
            if name == GRPC_STATUS:
                if status is None:
                    status = value
            elif name == GRPC_STATUS_DETAILS:
                return False  # details may carry another code: `status_from_metadata` decides
        if status != b"0":
            return False
        for name, value in response.headers:
            if name == CONTENT_TYPE:
                return value in (GRPC_CONTENT_TYPE, GRPC_PROTO_CONTENT_TYPE)
        return False

    def _decode(self, response: H2Response) -> None:
        """Any other response (§2.4): raises its `RpcError` unless it holds exactly one message."""
        from rpcctl.wire.grpc_status import status_from_metadata
        from rpcctl.wire.metadata import Metadata

        headers = Metadata.from_header_bytes(response.headers)
        trailers = Metadata.from_header_bytes(response.trailers)
        has_status = "grpc-status" in (trailers if response.trailers else headers)
        http_status = response.status
        if http_status != 200 and not has_status:
            # grpcio's wording, the §6.3 code.
            raise RpcError(
                Code.from_http_status(http_status), f"Received http2 header with status: {http_status}"
            )
        if http_status == 200:
            self._check_content_type(_text(headers.get("content-type")), has_status)
        if response.trailers:
            status = status_from_metadata(trailers)
            user = trailers
        elif not response.body:
            status = status_from_metadata(trailers, headers)  # Trailers-Only
            user = headers.without(("content-type",))
        else:
            # §2.4 4c; grpcio's code (the spec allows it besides INTERNAL).
            raise ProtocolError(Code.UNKNOWN, "stream ended without trailers (no grpc-status)")
        if status.code is not Code.OK:
            raise RpcError(status.code, status.message, status.details, user.items())
        reader = EnvelopeReader(self._max, FLAG_COMPRESSED)
        envelopes = reader.feed(response.body) if response.body else []
        reader.finish()
        if not envelopes:
            raise ProtocolError(Code.UNIMPLEMENTED, "the call ended without a response message")
        if len(envelopes) > 1:
            raise ProtocolError(Code.UNIMPLEMENTED, "the server sent more than one response message")
        if envelopes[0].compressed:
            self._decompress(_text(headers.get(GRPC_ENCODING)), envelopes[0].data)

    @staticmethod
    def _check_content_type(raw_type: str | None, has_status: bool) -> None:
        """§2.4 step 3: UNKNOWN for a type that is not gRPC, INTERNAL for another codec."""
        from rpcctl.protocols.grpc_server import parse_content_type

        codec = parse_content_type(raw_type)
        if codec is None and not (raw_type is None and has_status):
            raise ProtocolError(Code.UNKNOWN, f"unexpected content type {raw_type!r}")
        if codec is not None and codec != "proto":
            raise ProtocolError(
                Code.INTERNAL, f"response content type {raw_type!r} does not match the proto codec"
            )

    def _decompress(self, encoding: str | None, data: bytes) -> bytes:
        """A compressed message (the capped decompression); INTERNAL unless it decodes."""
        from rpcctl.wire import compression

        name = (encoding or "").strip().lower()
        if name and not compression.is_supported(name):
            raise ProtocolError(Code.INTERNAL, f"response uses unknown compression grpc-encoding: {name}")
        try:
            return compression.decompress_response(name, data, self._max)
        except RpcError as exc:
            raise ProtocolError(exc.code, exc.message) from None

    async def stream(self, requests: Sequence[bytes], interval: float, metadata: Metadata | None) -> int:
        """Streaming calls go through grpcio (`make_invoker` never sends them here)."""
        if self._fallback is None:
            from rpcctl.bench.invoker import GrpcInvoker

            self._fallback = GrpcInvoker(self.settings, self.method, self._metadata, self.timeout)
        return await self._fallback.stream(requests, interval, metadata)

    async def aclose(self) -> None:
        """Close the connection (and the grpcio channel, if streams opened one)."""
        await self.pool.aclose()
        if self._fallback is not None:
            await self._fallback.aclose()


def _text(value: str | bytes | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value
