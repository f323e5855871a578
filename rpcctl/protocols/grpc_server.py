"""The native gRPC protocol, server half (gRPC's PROTOCOL-HTTP2.md): HTTP/2 with trailers.

Sans-IO: `GrpcServer` validates a request's headers, decodes its enveloped body, and says
what to write back: a head (always 200, echoing the request's content type), one envelope
per message, and the status as HTTP trailers. `rpcctl.protocols.grpc_web_server` changes
only the content types and moves the trailers into the body.
"""

from __future__ import annotations

from rpcctl.errors import RpcError
from rpcctl.protocols.base_server import (
    EnvelopeRequestDecoder,
    ResponseEnd,
    ResponseHead,
    encode_message,
    request_encoding,
    response_encoding,
    user_metadata_pairs,
)
from rpcctl.protocols.grpc import parse_content_type as parse_content_type
from rpcctl.wire import compression
from rpcctl.wire.grpc_status import status_to_metadata
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.timeout import GRPC_TIMEOUT_HEADER, parse_grpc_timeout

MEDIA = "application/grpc"
CONTENT_TYPE = "content-type"
GRPC_ENCODING = "grpc-encoding"
GRPC_ACCEPT_ENCODING = "grpc-accept-encoding"
TE = "te"
TE_TRAILERS = "trailers"
CODECS = ("proto", "json")


def _media(value: str | None) -> str:
    return (value or "").partition(";")[0].strip().lower()


def _text(value: str | bytes | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value


class GrpcServer:
    """The gRPC server half for one call."""

    def __init__(self, headers: Metadata, codec: str, max_message_size: int) -> None:
        self.headers = headers
        self.codec = codec
        self.max_message_size = max_message_size
        self.content_type = _media(_text(headers.get(CONTENT_TYPE))) or MEDIA
        self._response_encoding: str | None = None

    def timeout(self) -> float | None:
        """The call's timeout in seconds; INVALID_ARGUMENT on a malformed header."""
        raw = _text(self.headers.get(GRPC_TIMEOUT_HEADER))
        return None if raw is None else parse_grpc_timeout(raw)

    def request_decoder(self) -> EnvelopeRequestDecoder:
        """A decoder for the request body; UNIMPLEMENTED on an unknown ``grpc-encoding``."""
        encoding = request_encoding(_text(self.headers.get(GRPC_ENCODING)))
        accept = _text(self.headers.get(GRPC_ACCEPT_ENCODING))
        self._response_encoding = response_encoding(accept, encoding)
        return EnvelopeRequestDecoder(self.max_message_size, encoding, text=self._text_mode())

    def _text_mode(self) -> bool:
        return False

    def response_head(self, headers: Metadata) -> ResponseHead:
        """The response headers: content type, encodings, then the handler's headers."""
        pairs = [(CONTENT_TYPE, self._response_content_type())]
        if self._response_encoding is not None:
            pairs.append((GRPC_ENCODING, self._response_encoding))
        pairs.append((GRPC_ACCEPT_ENCODING, compression.accept_header()))
        pairs += user_metadata_pairs(headers)
        return ResponseHead(200, pairs, trailers=True)

    def _response_content_type(self) -> str:
        return self.content_type

    def encode_message(self, data: bytes) -> bytes:
        """One response message as body bytes."""
        return encode_message(data, self._response_encoding)

    def end(self, error: RpcError | None, trailers: Metadata) -> ResponseEnd:
        """The status trailers: grpc-status, grpc-message, details-bin, then user trailers."""
        return ResponseEnd(b"", status_trailer_pairs(error, trailers))


def status_trailer_pairs(error: RpcError | None, trailers: Metadata) -> list[tuple[str, str]]:
    """grpc-status (and message, details) followed by the handler's and the error's metadata."""
    user = trailers.copy()
    if error is not None:
        user.extend(error.metadata)
        status = status_to_metadata(error.status)
    else:
        status = Metadata([("grpc-status", "0")])
    return status.to_wire_pairs() + user_metadata_pairs(user)
