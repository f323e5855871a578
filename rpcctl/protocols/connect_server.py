"""The Connect protocol, server half (connectrpc.com/docs/protocol): unary POST and GET, and streams.

Sans-IO. `ConnectStreamServer` has the same shape as `GrpcServer` (enveloped messages, then
an end-stream frame, always HTTP 200). `ConnectUnaryServer` reads a bare (optionally
compressed) body, or the ``message`` query parameter of a GET, and answers a bare message
or a JSON error whose HTTP status follows the code (Connect protocol, "Error Codes"); trailers
become ``trailer-`` headers, so the whole response is known before its head is written.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_to_bytes

from rpcctl.errors import ProtocolError, RpcError
from rpcctl.protocols.base_server import (
    COMPRESS_MIN_BYTES,
    EnvelopeRequestDecoder,
    ResponseEnd,
    ResponseHead,
    encode_message,
    request_encoding,
    response_encoding,
    user_metadata_pairs,
)
from rpcctl.protocols.body import BodyBuffer
from rpcctl.protocols.connect import (
    ACCEPT_ENCODING,
    CONTENT_ENCODING,
    CONTENT_TYPE,
    GET_CONNECT_VERSION,
    PROTOCOL_VERSION,
    PROTOCOL_VERSION_HEADER,
    STREAM_ACCEPT_ENCODING,
    STREAM_CONTENT_ENCODING,
    STREAM_MEDIA_PREFIX,
    UNARY_MEDIA_PREFIX,
    media_type,
)
from rpcctl.wire import compression
from rpcctl.wire.connect_error import JSON_CONTENT_TYPE, connect_error_body, end_stream_body
from rpcctl.wire.envelope import FLAG_END_STREAM, encode_envelope
from rpcctl.wire.metadata import Metadata, clip
from rpcctl.wire.status import Code
from rpcctl.wire.timeout import CONNECT_TIMEOUT_HEADER, parse_connect_timeout

CODECS = ("proto", "json")
VARY = "vary"


def parse_unary_content_type(value: str | None) -> str | None:
    """The codec of a unary content type (``application/<codec>``); None if not one."""
    media = media_type(value)
    if not media.startswith(UNARY_MEDIA_PREFIX) or media.startswith(STREAM_MEDIA_PREFIX):
        return None
    codec = media[len(UNARY_MEDIA_PREFIX) :]
    return codec or None


def parse_stream_content_type(value: str | None) -> str | None:
    """The codec of a streaming content type (``application/connect+<codec>``); None if not one."""
    media = media_type(value)
    if not media.startswith(STREAM_MEDIA_PREFIX):
        return None
    return media[len(STREAM_MEDIA_PREFIX) :] or None


def query_params(query: bytes) -> dict[str, bytes]:
    """GET query parameters, percent- and ``+``-decoded; the first of a repeated name wins."""
    params: dict[str, bytes] = {}
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        key = unquote_to_bytes(name.replace(b"+", b" ")).decode("latin-1")
        params.setdefault(key, unquote_to_bytes(value.replace(b"+", b" ")))
    return params


def _text(value: str | bytes | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _check_version(headers: Metadata) -> None:
    version = _text(headers.get(PROTOCOL_VERSION_HEADER))
    if version is not None and version.strip() != PROTOCOL_VERSION:
        raise RpcError(
            Code.INVALID_ARGUMENT,
            f"{PROTOCOL_VERSION_HEADER} must be {PROTOCOL_VERSION!r}: got {clip(repr(version))}",
        )


def _timeout(headers: Metadata) -> float | None:
    raw = _text(headers.get(CONNECT_TIMEOUT_HEADER))
    return None if raw is None else parse_connect_timeout(raw)


class ConnectStreamServer:
    """The Connect streaming server half for one call."""

    def __init__(self, headers: Metadata, codec: str, max_message_size: int) -> None:
        self.headers = headers
        self.codec = codec
        self.max_message_size = max_message_size
        self._response_encoding: str | None = None

    def timeout(self) -> float | None:
        """The call's timeout; INVALID_ARGUMENT on a bad header or protocol version."""
        _check_version(self.headers)
        return _timeout(self.headers)

    def request_decoder(self) -> EnvelopeRequestDecoder:
        """A decoder for the request body; UNIMPLEMENTED on an unknown encoding."""
        encoding = request_encoding(_text(self.headers.get(STREAM_CONTENT_ENCODING)))
        accept = _text(self.headers.get(STREAM_ACCEPT_ENCODING))
        self._response_encoding = response_encoding(accept, encoding)
        return EnvelopeRequestDecoder(self.max_message_size, encoding)

    def response_head(self, headers: Metadata) -> ResponseHead:
        """Always 200: errors travel in the end-stream frame."""
        pairs = [(CONTENT_TYPE, STREAM_MEDIA_PREFIX + self.codec)]
        if self._response_encoding is not None:
            pairs.append((STREAM_CONTENT_ENCODING, self._response_encoding))
        pairs.append((STREAM_ACCEPT_ENCODING, compression.accept_header()))
        pairs += user_metadata_pairs(headers)
        return ResponseHead(200, pairs)

    def encode_message(self, data: bytes) -> bytes:
        """One response envelope."""
        return encode_message(data, self._response_encoding)

    def end(self, error: RpcError | None, trailers: Metadata) -> ResponseEnd:
        """The end-stream frame (flags 0x02, JSON): the error if any, and the trailers."""
        md = trailers.copy()
        if error is not None:
            md.extend(error.metadata)
        md = Metadata.from_wire_pairs(user_metadata_pairs(md))
        return ResponseEnd(encode_envelope(end_stream_body(error, md), FLAG_END_STREAM))


class UnaryBodyDecoder:
    """The one message of a unary request: the bounded body, decompressed at the end."""

    def __init__(self, max_size: int, encoding: str | None, preset: bytes | None = None) -> None:
        self._max_size = max_size
        self._encoding = encoding
        self._body = BodyBuffer(max_size)
        self._preset = preset

    def feed(self, data: bytes) -> list[bytes]:
        """Collect body bytes; RESOURCE_EXHAUSTED past the limit."""
        try:
            self._body.add(data)
        except ProtocolError:
            raise ProtocolError(
                Code.RESOURCE_EXHAUSTED, f"request body is larger than the configured max of {self._max_size}"
            ) from None
        return []

    def finish(self) -> list[bytes]:
        """The message: the body (or GET payload), decompressed with the size cap."""
        data = self._preset if self._preset is not None else self._body.getvalue()
        if self._encoding is None or not data:
            return [data]
        return [compression.decompress(self._encoding, data, self._max_size)]


class ConnectUnaryServer:
    """The Connect unary server half for one call: POST, or GET when ``query`` is given."""

    def __init__(
        self, headers: Metadata, codec: str, max_message_size: int, *, query: bytes | None = None
    ) -> None:
        self.headers = headers
        self.codec = codec
        self.max_message_size = max_message_size
        self.query = query
        self._response_encoding: str | None = None

    @classmethod
    def for_get(cls, headers: Metadata, query: bytes, max_message_size: int) -> ConnectUnaryServer:
        """A GET call; the codec comes from the ``encoding`` parameter (may be unsupported)."""
        encoding = query_params(query).get("encoding", b"").decode("latin-1")
        return cls(headers, encoding, max_message_size, query=query)

    def timeout(self) -> float | None:
        """The call's timeout; INVALID_ARGUMENT on a bad header or protocol version."""
        _check_version(self.headers)
        return _timeout(self.headers)

    def request_decoder(self) -> UnaryBodyDecoder:
        """A decoder for the body (or the GET payload); UNIMPLEMENTED on an unknown encoding."""
        accept = _text(self.headers.get(ACCEPT_ENCODING))
        if self.query is None:
            encoding = request_encoding(_text(self.headers.get(CONTENT_ENCODING)))
            self._response_encoding = response_encoding(accept, encoding)
            return UnaryBodyDecoder(self.max_message_size, encoding)
        payload, encoding = self._get_payload()
        self._response_encoding = response_encoding(accept, None)
        return UnaryBodyDecoder(self.max_message_size, encoding, payload)

    def _get_payload(self) -> tuple[bytes, str | None]:
        params = query_params(self.query or b"")
        version = params.get("connect")
        if version is not None and version != GET_CONNECT_VERSION.encode():
            raise RpcError(Code.INVALID_ARGUMENT, f"connect query parameter must be {GET_CONNECT_VERSION!r}")
        if "message" not in params:
            raise RpcError(Code.INVALID_ARGUMENT, "GET request without a message query parameter")
        text = params["message"]
        if len(text) > 2 * self.max_message_size:
            raise RpcError(Code.RESOURCE_EXHAUSTED, "GET message is larger than the configured max")
        compression_name = params.get("compression")
        encoding = request_encoding(None if compression_name is None else compression_name.decode("latin-1"))
        if params.get("base64") == b"1":
            try:
                text = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
            except (binascii.Error, ValueError) as exc:
                raise RpcError(Code.INVALID_ARGUMENT, f"GET message is not valid base64: {exc}") from None
        if len(text) > self.max_message_size:  # decoded: percent-escapes and base64 undone
            raise RpcError(Code.RESOURCE_EXHAUSTED, "GET message is larger than the configured max")
        return text, encoding

    def response(self, message: bytes, headers: Metadata, trailers: Metadata) -> tuple[ResponseHead, bytes]:
        """A 200 with the bare message (compressed when negotiated and worth it)."""
        pairs = [(CONTENT_TYPE, UNARY_MEDIA_PREFIX + self.codec)]
        body = message
        if self._response_encoding is not None and len(message) >= COMPRESS_MIN_BYTES:
            body = compression.compress(self._response_encoding, message)
            pairs.append((CONTENT_ENCODING, self._response_encoding))
        return ResponseHead(200, self._with_metadata(pairs, headers, trailers)), body

    def error(self, error: RpcError, headers: Metadata, trailers: Metadata) -> tuple[ResponseHead, bytes]:
        """A JSON error with the code's HTTP status; error metadata joins the trailers."""
        md = trailers.copy()
        md.extend(error.metadata)
        pairs = [(CONTENT_TYPE, JSON_CONTENT_TYPE)]
        code = error.code if error.code is not Code.OK else Code.UNKNOWN
        head = ResponseHead(code.connect_http_status, self._with_metadata(pairs, headers, md))
        return head, connect_error_body(error)

    def _with_metadata(
        self, pairs: list[tuple[str, str]], headers: Metadata, trailers: Metadata
    ) -> list[tuple[str, str]]:
        pairs.append((ACCEPT_ENCODING, compression.accept_header()))
        if self.query is not None:
            pairs.append((VARY, ACCEPT_ENCODING))
        pairs += user_metadata_pairs(headers)
        pairs += [(f"trailer-{key}", value) for key, value in user_metadata_pairs(trailers)]
        return pairs
