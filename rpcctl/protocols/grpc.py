"""The native gRPC protocol, client half: gRPC over HTTP/2 with HTTP trailers.

Follows gRPC's PROTOCOL-HTTP2.md (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md)
and http-grpc-status-mapping.md. Sans-IO: `GrpcClient` builds request heads and enveloped
bodies; `GrpcDecoder` turns one HTTP response (status, headers, body, trailers) into messages
and a status. `plainly_ok_unary` recognises the common OK answer to a unary call after a few
byte comparisons, for bench's hot path; it never accepts what `GrpcDecoder` would refuse.
"""

from __future__ import annotations

import functools
from typing import NoReturn

from rpcctl.errors import ProtocolError, RpcError, Status, UsageError
from rpcctl.protocols.exchange import USER_AGENT, RequestHead
from rpcctl.wire import compression
from rpcctl.wire.envelope import FLAG_COMPRESSED, EnvelopeReader, encode_envelope
from rpcctl.wire.grpc_status import GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS, status_from_metadata
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code
from rpcctl.wire.timeout import GRPC_TIMEOUT_HEADER, encode_grpc_timeout

CONTENT_TYPE = "content-type"
MEDIA = "application/grpc"
TE = "te"
TE_TRAILERS = "trailers"
GRPC_ENCODING = "grpc-encoding"
GRPC_ACCEPT_ENCODING = "grpc-accept-encoding"
ACCEPTED_ENCODINGS = "gzip"
# Response headers that describe the HTTP message, not trailing metadata (Trailers-Only).
NOT_TRAILERS = ("content-type", "content-length", "date", "server", GRPC_ENCODING, GRPC_ACCEPT_ENCODING)

_CONTENT_TYPE_B = b"content-type"
_OK_CONTENT_TYPES = (b"application/grpc", b"application/grpc+proto")
_GRPC_STATUS_B = GRPC_STATUS.encode()
_GRPC_STATUS_DETAILS_B = GRPC_STATUS_DETAILS.encode()
_OK = Status(Code.OK)


def parse_content_type(value: str | None) -> str | None:
    """The codec named by a gRPC content type (``proto`` when bare); None if not gRPC.

    ``application/grpc-web`` is not gRPC: only the bare type or a ``+`` suffix match
    (gRPC over HTTP/2, "Requests": Content-Type).
    """
    media = (value or "").partition(";")[0].strip().lower()
    if media == MEDIA:
        return "proto"
    if media.startswith(MEDIA + "+"):
        return media[len(MEDIA) + 1 :]
    return None


# The codec of a response content type, remembered: servers answer with few distinct ones.
_codec_of = functools.lru_cache(maxsize=64)(parse_content_type)


def plainly_ok_status(block: Metadata) -> bool:
    """Whether a status block says OK with nothing more: one ``grpc-status: 0``, no message,
    no details. `status_from_metadata` would read ``Status(Code.OK)`` from it; False means
    "not sure" (the caller then asks `status_from_metadata`).
    """
    seen = False
    for key, value in block:
        if key == GRPC_STATUS:
            if seen or value != "0":
                return False
            seen = True
        elif key == GRPC_MESSAGE:
            if value:
                return False
        elif key == GRPC_STATUS_DETAILS:
            return False
    return seen


def content_type(codec: str) -> str:
    """``application/grpc`` for proto (the bare type, which every server takes), else ``+codec``."""
    return MEDIA if codec == "proto" else f"{MEDIA}+{codec}"


class GrpcClient:
    """The native gRPC client half for one call: request head, envelopes, a response decoder.

    No size cap applies to what is sent: the server enforces its own limit, and
    ``max_message_size`` bounds only what is received.
    """

    def __init__(
        self,
        path: str,
        *,
        codec: str = "proto",
        metadata: Metadata,
        timeout: float | None = None,
        compression_name: str | None = None,
        max_message_size: int,
    ) -> None:
        self.path = path
        self.codec = codec
        self.metadata = metadata
        self.timeout = timeout
        self.compression = compression.request_encoding(compression_name)
        self.max_message_size = max_message_size
        # The head is the same for every call of this client (built on first use, so that
        # bad metadata fails the call, not the channel's `open`).
        self._head: RequestHead | None = None

    def stream_head(self) -> RequestHead:
        """The request head, headers in the order of the spec's Call-Definition."""
        if self._head is None:
            self._head = self._build_head()
        return self._head

    def _build_head(self) -> RequestHead:
        headers = [(TE, TE_TRAILERS)]  # required: it detects proxies that drop trailers
        if self.timeout is not None:
            headers.append((GRPC_TIMEOUT_HEADER, encode_grpc_timeout(self.timeout)))
        headers.append((CONTENT_TYPE, content_type(self.codec)))
        if self.compression is not None:
            headers.append((GRPC_ENCODING, self.compression))
        headers += [(GRPC_ACCEPT_ENCODING, ACCEPTED_ENCODINGS), ("user-agent", USER_AGENT)]
        try:
            user = self.metadata.to_wire_pairs()
        except ProtocolError as exc:
            raise UsageError(f"invalid request metadata: {exc.message}") from None
        return RequestHead("POST", self.path, (*headers, *user))

    def encode_message(self, message: bytes) -> bytes:
        """One request envelope (flag 0x01 and the negotiated encoding when compressing)."""
        if self.compression is not None:
            return encode_envelope(compression.compress(self.compression, message), FLAG_COMPRESSED)
        return encode_envelope(message)

    def unary_request(self, message: bytes) -> tuple[RequestHead, bytes | None]:
        """The head and the one-envelope body of a unary or server-streaming call."""
        return self.stream_head(), self.encode_message(message)

    def new_decoder(self) -> GrpcDecoder:
        """A decoder for this call's response."""
        return GrpcDecoder(self.codec, self.max_message_size)


class GrpcDecoder:
    """Reads a native gRPC response: headers, envelopes, then the status in the HTTP trailers.

    The decision procedure: a non-200 HTTP status without grpc-status maps to a code
    (http-grpc-status-mapping.md); a 200 must carry a gRPC content type of this codec; the
    status comes from the trailers when any arrived, from the headers when there was neither
    body nor trailers (Trailers-Only), and a body without trailers is an error.
    """

    def __init__(self, codec: str, max_message_size: int) -> None:
        self.codec = codec
        self.max_message_size = max_message_size
        self.headers = Metadata()
        self.trailers = Metadata()
        self.status: Status | None = None
        self._http_status = 0
        self._encoding: str | None = None
        self._reader = EnvelopeReader(max_message_size, FLAG_COMPRESSED)
        self._got_body = False
        self._http_trailers = Metadata()

    def start(self, http_status: int, headers: Metadata) -> None:
        """Take the status line and headers; a 200 with a foreign content type fails here."""
        self.headers = headers
        self._http_status = http_status
        if http_status != 200:
            return  # the status may still come in the trailers: settled at `finish`
        raw_type = _text(headers.get(CONTENT_TYPE))
        codec = _codec_of(raw_type)
        if codec is None:
            if raw_type is None and GRPC_STATUS in headers:
                return  # a Trailers-Only response that left the content type out
            # "200 is UNKNOWN because there should be a grpc-status" (http-grpc-status-mapping.md).
            self._fail(Code.UNKNOWN, f"unexpected content type {raw_type!r}")
        if codec != self.codec:
            self._fail(
                Code.INTERNAL, f"response content type {raw_type!r} does not match the {self.codec} codec"
            )
        name = _text(headers.get(GRPC_ENCODING))
        if name is not None and name.strip() and name.strip().lower() != compression.IDENTITY:
            self._encoding = name.strip().lower()

    def feed(self, data: bytes) -> list[bytes]:
        """Take body bytes; return the messages they complete (decompressed)."""
        if self._http_status != 200 or not data:
            # A non-200 body is an error page, not gRPC framing: it is not parsed.
            return []
        self._got_body = True
        try:
            envelopes = self._reader.feed(data)
        except ProtocolError as exc:
            self.status = exc.status
            raise
        return [self._payload(e.data) if e.compressed else e.data for e in envelopes]

    def take_trailers(self, trailers: Metadata) -> None:
        """The HTTP trailers, given once the body ended, before `finish` (empty if none came)."""
        self._http_trailers = trailers

    def finish(self) -> list[bytes]:
        """Settle the status; raise `RpcError` unless it is OK and the body ended cleanly."""
        trailers = self._http_trailers
        if self._http_status != 200:
            if GRPC_STATUS in trailers or GRPC_STATUS in self.headers:
                # "If grpc-status was provided, it must be used" (http-grpc-status-mapping.md).
                self._settle(trailers)
                return []
            # grpcio's wording, so that users see what they saw before.
            self._fail(
                Code.from_http_status(self._http_status),
                f"Received http2 header with status: {self._http_status}",
            )
        if len(trailers):
            self._settle(trailers)
        elif not self._got_body:
            self._settle(Metadata())  # Trailers-Only: the status is in the headers
        else:
            # The spec allows INTERNAL or UNKNOWN; UNKNOWN is what grpcio reports.
            self._fail(Code.UNKNOWN, "stream ended without trailers (no grpc-status)")
        try:
            self._reader.finish()
        except ProtocolError as exc:
            self.status = exc.status
            raise
        return []

    def _settle(self, trailers: Metadata) -> None:
        """Take the status from ``trailers``, or from the headers when there are none."""
        headers = self.headers
        if len(trailers):
            self.trailers = trailers
            if plainly_ok_status(trailers):
                self.status = _OK
                return
        else:
            # Trailers-Only: the one header block is the trailers; there were no headers.
            self.trailers = headers.without(NOT_TRAILERS)
            self.headers = Metadata()
        status = status_from_metadata(trailers, headers)
        self.status = status
        if status.code is not Code.OK:
            raise RpcError(status.code, status.message, status.details, self.trailers.items())

    def _payload(self, data: bytes) -> bytes:
        if self._encoding is not None and not compression.is_supported(self._encoding):
            self._fail(Code.INTERNAL, f"response uses unknown compression grpc-encoding: {self._encoding}")
        try:
            return compression.decompress_response(self._encoding, data, self.max_message_size)
        except RpcError as exc:
            self._fail(exc.code, exc.message)

    def _fail(self, code: Code, message: str) -> NoReturn:
        error = ProtocolError(code, message, (), self.trailers.items())
        self.status = error.status
        raise error


def plainly_ok_unary(
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    trailers: list[tuple[bytes, bytes]],
    max_size: int,
) -> bool:
    """Whether a unary answer is plainly OK: 200, a proto gRPC content type, one uncompressed
    message within ``max_size``, trailers whose grpc-status is 0 and that carry no details.

    ``headers`` and ``trailers`` are HTTP/2 header lists as bytes. False means "not sure":
    the answer then goes through `GrpcDecoder`, which agrees on every answer accepted here.
    """
    if status != 200 or len(body) < 5 or body[0] != 0:
        return False
    size = len(body) - 5
    if size > max_size or int.from_bytes(body[1:5], "big") != size:
        return False
    grpc_status = None
    for name, value in trailers:
        if name == _GRPC_STATUS_B:
            if grpc_status is None:
                grpc_status = value
        elif name == _GRPC_STATUS_DETAILS_B:
            return False  # details may carry another code: the decoder decides
    if grpc_status != b"0":
        return False
    for name, value in headers:
        if name == _CONTENT_TYPE_B:
            return value in _OK_CONTENT_TYPES
    return False


def _text(value: str | bytes | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value
