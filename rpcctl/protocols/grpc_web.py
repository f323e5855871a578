"""The gRPC-Web protocol, client half (gRPC's PROTOCOL-WEB.md): binary and text mode.

Sans-IO: `GrpcWebClient` builds request heads and enveloped bodies; `GrpcWebDecoder` reads
data frames and the trailer frame (0x80), or a trailers-only response, into a status (as
PROTOCOL-HTTP2.md's decision, with the trailers in the body). Per-message ``grpc-encoding``
compression is supported as real servers (connect-go, Envoy) use it, beyond the spec's text.
"""

from __future__ import annotations

import base64
import functools
from typing import NoReturn

from rpcctl.errors import ProtocolError, RpcError, Status, UsageError
from rpcctl.protocols.base64_stream import Base64Stream
from rpcctl.protocols.body import SNIPPET_BYTES, BodyBuffer
from rpcctl.protocols.connect import media_type
from rpcctl.protocols.exchange import USER_AGENT, RequestHead
from rpcctl.protocols.grpc import plainly_ok_status
from rpcctl.protocols.plain import plain_head
from rpcctl.wire import compression
from rpcctl.wire.connect_error import parse_connect_error
from rpcctl.wire.envelope import FLAG_COMPRESSED, FLAG_TRAILER, EnvelopeReader, encode_envelope
from rpcctl.wire.grpc_status import GRPC_STATUS, status_from_metadata
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code
from rpcctl.wire.timeout import GRPC_TIMEOUT_HEADER, encode_grpc_timeout
from rpcctl.wire.trailer_block import parse_trailer_block

CONTENT_TYPE = "content-type"
MEDIA = "application/grpc-web"
TEXT_MEDIA = "application/grpc-web-text"
GRPC_ENCODING = "grpc-encoding"
GRPC_ACCEPT_ENCODING = "grpc-accept-encoding"
GRPC_ENCODING_B = GRPC_ENCODING.encode()
ACCEPT = "accept"
ACCEPT_ENCODING = "accept-encoding"
X_GRPC_WEB = "x-grpc-web"
X_USER_AGENT = "x-user-agent"
ACCEPTED_ENCODINGS = "gzip"
# Distinct trailer blocks whose verdict `plainly_ok_unary` remembers.
OK_BLOCKS_CACHED = 1024
# Headers of a trailers-only response that are not trailing metadata.
NOT_TRAILERS = ("content-type", "content-length", "date", "server", "connection", "vary")
# Trailer-frame payloads whose parsed `Metadata` is remembered (servers send few distinct
# ones), and the longest payload remembered.
TRAILER_BLOCKS_CACHED = 64
TRAILER_BLOCK_CACHED_BYTES = 1024
_OK = Status(Code.OK)
_trailer_blocks: dict[bytes, Metadata] = {}


def content_type(codec: str, text: bool) -> str:
    """``application/grpc-web+proto|json``, ``application/grpc-web-text[+json]``.

    Text mode with proto is the bare ``application/grpc-web-text`` that PROTOCOL-WEB.md names
    and the grpc-web JavaScript client sends: some servers (sonora) recognise only that form.
    """
    if text:
        return TEXT_MEDIA if codec == "proto" else f"{TEXT_MEDIA}+{codec}"
    return f"{MEDIA}+{codec}"


@functools.lru_cache(maxsize=64)  # servers answer with few distinct content types
def parse_content_type(value: str | None) -> tuple[bool, str] | None:
    """(text mode, codec) of a gRPC-Web content type; None if it is not one."""
    media = media_type(value)
    for prefix, text in ((TEXT_MEDIA, True), (MEDIA, False)):
        if media == prefix:
            return text, "proto"
        if media.startswith(prefix + "+"):
            return text, media[len(prefix) + 1 :]
    return None


class GrpcWebClient:
    """The gRPC-Web client half for one call."""

    def __init__(
        self,
        path: str,
        *,
        codec: str,
        metadata: Metadata,
        timeout: float | None = None,
        compression_name: str | None = None,
        max_message_size: int,
        text: bool = False,
    ) -> None:
        self.path = path
        self.codec = codec
        self.metadata = metadata
        self.timeout = timeout
        self.compression = compression.request_encoding(compression_name)
        self.max_message_size = max_message_size
        self.text = text
        # The same for every call of this client (built on first use: bad metadata fails the
        # call, not the channel's `open`).
        self._head: RequestHead | None = None

    def stream_head(self) -> RequestHead:
        """The request head; messages follow as envelopes (base64 in text mode)."""
        if self._head is None:
            self._head = self._build_head()
        return self._head

    def _build_head(self) -> RequestHead:
        ctype = content_type(self.codec, self.text)
        headers = [(CONTENT_TYPE, ctype)]
        if self.timeout is not None:
            headers.append((GRPC_TIMEOUT_HEADER, encode_grpc_timeout(self.timeout)))
        # Its own content type: a server that can answer in more than one shape (text or
        # binary, proto or JSON) answers in the one this client decodes.
        headers.append((ACCEPT, ctype))
        headers += [
            (X_GRPC_WEB, "1"),
            (X_USER_AGENT, USER_AGENT),
            ("user-agent", USER_AGENT),
        ]
        if self.compression is not None:
            headers.append((GRPC_ENCODING, self.compression))
        headers.append((GRPC_ACCEPT_ENCODING, ACCEPTED_ENCODINGS))
        headers.append((ACCEPT_ENCODING, compression.IDENTITY))
        try:
            user = self.metadata.to_wire_pairs()
        except ProtocolError as exc:
            raise UsageError(f"invalid request metadata: {exc.message}") from None
        return RequestHead("POST", self.path, (*headers, *user))

    def encode_message(self, message: bytes) -> bytes:
        """One request envelope; each is base64-encoded on its own in text mode."""
        if self.compression is not None:
            frame = encode_envelope(compression.compress(self.compression, message), FLAG_COMPRESSED)
        else:
            frame = encode_envelope(message)
        return base64.b64encode(frame) if self.text else frame

    def unary_request(self, message: bytes) -> tuple[RequestHead, bytes | None]:
        """The head and the one-envelope body of a unary or server-streaming call."""
        return self.stream_head(), self.encode_message(message)

    def new_decoder(self) -> GrpcWebDecoder:
        """A decoder for this call's response."""
        return GrpcWebDecoder(self.codec, self.max_message_size)


class GrpcWebDecoder:
    """Reads a gRPC-Web response: data frames, then one trailer frame, or trailers-only."""

    def __init__(self, codec: str, max_message_size: int) -> None:
        self.codec = codec
        self.max_message_size = max_message_size
        self.headers = Metadata()
        self.trailers = Metadata()
        self.status: Status | None = None
        self._http_status = 0
        self._encoding: str | None = None
        self._text: Base64Stream | None = None
        self._reader = EnvelopeReader(max_message_size, FLAG_COMPRESSED | FLAG_TRAILER)
        self._error_body: BodyBuffer | None = None
        self._got_body = False
        self._trailer_block: Metadata | None = None

    def start(self, http_status: int, headers: Metadata) -> None:
        """Validate status, content type and ``grpc-encoding``."""
        self.headers = headers
        self._http_status = http_status
        if http_status != 200:
            if GRPC_STATUS in headers:
                self._end_with(status_from_metadata(Metadata(), headers, http_status), headers)
            self._error_body = BodyBuffer(SNIPPET_BYTES, truncate=True)
            return
        raw_type = _text(headers.get(CONTENT_TYPE))
        parsed = parse_content_type(raw_type)
        if parsed is None:
            if GRPC_STATUS in headers and raw_type is None:
                return  # a trailers-only response that omits the content type
            self._fail(Code.UNKNOWN, f"unexpected content type {raw_type!r}")
        text, codec = parsed
        if codec != self.codec:
            self._fail(
                Code.INTERNAL,
                f"response content type {raw_type!r} does not match the {self.codec} codec",
            )
        if text:
            self._text = Base64Stream()
        name = _text(headers.get(GRPC_ENCODING))
        if name is not None and name.strip() and name.strip().lower() != compression.IDENTITY:
            if not compression.is_supported(name):
                self._fail(Code.INTERNAL, f"response uses unknown compression grpc-encoding: {name}")
            self._encoding = name.strip().lower()

    def feed(self, data: bytes) -> list[bytes]:
        """Take body bytes; return the data messages they complete."""
        if self._error_body is not None:
            self._error_body.add(data)
            return []
        if not data:
            return []
        self._got_body = True
        try:
            if self._text is not None:
                data = self._text.feed(data)
            envelopes = self._reader.feed(data)
        except ProtocolError as exc:
            self.status = exc.status
            raise
        out: list[bytes] = []
        for envelope in envelopes:
            payload = self._payload(envelope.data, envelope.compressed)
            if envelope.trailer:
                self._trailer_block = _parse_trailers(payload)
            else:
                out.append(payload)
        return out

    def take_trailers(self, trailers: Metadata) -> None:
        """Ignored: gRPC-Web trailers travel in the body's trailer frame; a gRPC-Web server
        must not send HTTP trailers, and any that a proxy added do not carry the status."""

    def finish(self) -> list[bytes]:
        """Settle the status: trailer frame, trailers-only headers, or a protocol error."""
        if self._error_body is not None:
            error = parse_connect_error(self._error_body.getvalue(), self._http_status, None)
            self._raise(error.status)
        try:
            if self._text is not None:
                self._text.finish()
            self._reader.finish()
        except ProtocolError as exc:
            self.status = exc.status
            raise
        block = self._trailer_block
        if block is not None and plainly_ok_status(block):
            self.trailers = block
            self.status = _OK
            return []
        if block is not None and (GRPC_STATUS in block or GRPC_STATUS not in self.headers):
            self.trailers = block
            status = status_from_metadata(block)
        elif block is not None:
            # A trailer frame without a status next to headers that carry one: the server sent
            # its trailers with the headers (as PROTOCOL-WEB.md allows) and closed the body with
            # an empty frame. The headers' status is the call's.
            self.trailers = Metadata([*self.headers.without(NOT_TRAILERS).items(), *block.items()])
            status = status_from_metadata(Metadata(), self.headers)
        elif not self._got_body:
            self.trailers = self.headers.without(NOT_TRAILERS)
            status = status_from_metadata(Metadata(), self.headers)
        else:
            self._fail(Code.INTERNAL, "response ended without a trailer frame (no grpc-status)")
        if status.code is not Code.OK:
            self._raise(status)
        self.status = status
        return []

    def _end_with(self, status: Status, block: Metadata) -> None:
        self.trailers = block.without(NOT_TRAILERS)
        self._raise(status)

    def _payload(self, data: bytes, compressed: bool) -> bytes:
        if not compressed:
            return data
        try:
            return compression.decompress_response(self._encoding, data, self.max_message_size)
        except RpcError as exc:
            self._fail(exc.code, exc.message)

    def _raise(self, status: Status) -> NoReturn:
        self.status = status
        raise RpcError(status.code, status.message, status.details, self.trailers.items())

    def _fail(self, code: Code, message: str) -> NoReturn:
        error = ProtocolError(code, message, (), self.trailers.items())
        self.status = error.status
        raise error


def _parse_trailers(payload: bytes) -> Metadata:
    """A trailer frame's block (a copy of its own: callers may change it)."""
    if len(payload) > TRAILER_BLOCK_CACHED_BYTES:
        return parse_trailer_block(payload)
    parsed = _trailer_blocks.get(payload)
    if parsed is None:
        parsed = parse_trailer_block(payload)
        if len(_trailer_blocks) >= TRAILER_BLOCKS_CACHED:
            _trailer_blocks.clear()
        _trailer_blocks[payload] = parsed
    return parsed.copy()


def _text(value: str | bytes | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def plainly_ok_unary(
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    content_type: bytes,
    max_size: int,
    ok_blocks: dict[bytes, bool] | None = None,
) -> bool:
    """Whether a unary answer is plainly OK: 200, ``content_type`` (the request's own, binary
    mode), no ``grpc-encoding``, one uncompressed data frame within ``max_size``, then a trailer
    frame that ends the body and whose grpc-status is 0.

    ``headers`` is a header list as bytes; ``ok_blocks`` caches verdicts on trailer blocks
    (up to `OK_BLOCKS_CACHED` of them: servers send few distinct ones). False means "not
    sure": the answer then goes through `GrpcWebDecoder`, which agrees on every answer
    accepted here.
    """
    if status != 200 or not plain_head(headers, content_type, GRPC_ENCODING_B):
        return False
    if len(body) < 10 or body[0] != 0:
        return False
    size = int.from_bytes(body[1:5], "big")
    end = 5 + size
    if size > max_size or len(body) < end + 5 or body[end] != FLAG_TRAILER:
        return False
    if end + 5 + int.from_bytes(body[end + 1 : end + 5], "big") != len(body):
        return False
    block = body[end + 5 :]
    ok = ok_blocks.get(block) if ok_blocks is not None else None
    if ok is None:
        ok = trailer_block_ok(block)
        if ok_blocks is not None and len(ok_blocks) < OK_BLOCKS_CACHED:
            ok_blocks[block] = ok
    return ok


def trailer_block_ok(block: bytes) -> bool:
    """Whether a trailer-frame payload says grpc-status 0 (details included)."""
    try:
        return status_from_metadata(parse_trailer_block(block)).code is Code.OK
    except RpcError:
        return False
