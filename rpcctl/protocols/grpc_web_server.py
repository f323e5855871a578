"""The gRPC-Web protocol, server half (gRPC's PROTOCOL-WEB.md): binary and text mode.

gRPC-Web is gRPC with other content types and the status in a trailer frame (flags 0x80)
at the end of the body instead of HTTP trailers, so it works over HTTP/1.1. In text mode
(``application/grpc-web-text``, or ``accept: application/grpc-web-text``) every body write
is base64 on its own, padded (PROTOCOL-WEB.md, "Text-encoded (response) streams"); a text
request body is decoded from base64.
"""

from __future__ import annotations

from rpcctl.errors import RpcError
from rpcctl.protocols.base_server import ResponseEnd, ResponseHead, base64_frame
from rpcctl.protocols.grpc_server import GrpcServer, status_trailer_pairs
from rpcctl.protocols.grpc_web import MEDIA, TEXT_MEDIA
from rpcctl.protocols.grpc_web import parse_content_type as parse_content_type
from rpcctl.wire.envelope import FLAG_TRAILER, encode_envelope
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.trailer_block import encode_trailer_block

ACCEPT = "accept"


class GrpcWebServer(GrpcServer):
    """The gRPC-Web server half for one call."""

    def __init__(self, headers: Metadata, codec: str, max_message_size: int, *, text: bool) -> None:
        super().__init__(headers, codec, max_message_size)
        self.text_request = text
        accept = headers.get(ACCEPT)
        self.text_response = text or (isinstance(accept, str) and TEXT_MEDIA in accept.lower())

    def _text_mode(self) -> bool:
        return self.text_request

    def _response_content_type(self) -> str:
        return f"{TEXT_MEDIA if self.text_response else MEDIA}+{self.codec}"

    def response_head(self, headers: Metadata) -> ResponseHead:
        """As gRPC, without HTTP trailers."""
        head = super().response_head(headers)
        return ResponseHead(head.status, head.headers, trailers=False)

    def encode_message(self, data: bytes) -> bytes:
        """One response message (base64 in text mode)."""
        frame = super().encode_message(data)
        return base64_frame(frame) if self.text_response else frame

    def end(self, error: RpcError | None, trailers: Metadata) -> ResponseEnd:
        """The trailer frame: the status block, uncompressed, as the last frame of the body."""
        block = encode_trailer_block(Metadata.from_wire_pairs(status_trailer_pairs(error, trailers)))
        frame = encode_envelope(block, FLAG_TRAILER)
        return ResponseEnd(base64_frame(frame) if self.text_response else frame)
