"""The Connect protocol, client half (connectrpc.com/docs/protocol): unary POST and GET, streams.

Sans-IO: `ConnectClient` builds request heads and bodies; `ConnectUnaryDecoder` and
`ConnectStreamDecoder` turn the response into messages and a status as the spec's client does.
"""

from __future__ import annotations

import base64
import contextlib
import functools
from typing import NoReturn
from urllib.parse import quote

from rpcctl.errors import ProtocolError, RpcError, Status, UsageError
from rpcctl.protocols.body import SNIPPET_BYTES, BodyBuffer, declared_past
from rpcctl.protocols.exchange import USER_AGENT, RequestHead
from rpcctl.protocols.plain import plain_head
from rpcctl.wire import compression
from rpcctl.wire.connect_error import (
    TRAILER_PREFIX,
    parse_connect_error,
    parse_end_stream,
    split_trailer_headers,
)
from rpcctl.wire.envelope import FLAG_COMPRESSED, FLAG_END_STREAM, EnvelopeReader, encode_envelope
from rpcctl.wire.metadata import Metadata, clip
from rpcctl.wire.status import Code
from rpcctl.wire.timeout import CONNECT_TIMEOUT_HEADER, encode_connect_timeout

PROTOCOL_VERSION_HEADER = "connect-protocol-version"
PROTOCOL_VERSION = "1"
CONTENT_TYPE = "content-type"
CONTENT_ENCODING = "content-encoding"
CONTENT_ENCODING_B = CONTENT_ENCODING.encode()
CONTENT_LENGTH = "content-length"
ACCEPT_ENCODING = "accept-encoding"
STREAM_CONTENT_ENCODING = "connect-content-encoding"
STREAM_ACCEPT_ENCODING = "connect-accept-encoding"
UNARY_MEDIA_PREFIX = "application/"
STREAM_MEDIA_PREFIX = "application/connect+"
ACCEPTED_ENCODINGS = "gzip"
# GET query parameters, in the order the spec asks clients to send them ("Unary-Get-Request").
GET_PARAM_ORDER = ("connect", "base64", "compression", "encoding", "message")
GET_CONNECT_VERSION = "v1"


@functools.lru_cache(maxsize=64)  # servers answer with few distinct content types
def media_type(content_type: str | None) -> str:
    """The lowercase media type of a content-type value, parameters dropped."""
    return (content_type or "").partition(";")[0].strip().lower()


def unary_content_type(codec: str) -> str:
    """``application/json`` or ``application/proto``."""
    return UNARY_MEDIA_PREFIX + codec


def stream_content_type(codec: str) -> str:
    """``application/connect+json`` or ``application/connect+proto``."""
    return STREAM_MEDIA_PREFIX + codec


def get_query(codec: str, message: bytes, compression_name: str | None) -> str:
    """The query string of a unary GET, parameters in the spec's order."""
    params: dict[str, str] = {"connect": GET_CONNECT_VERSION}
    binary = codec != "json" or compression_name is not None
    if compression_name is not None:
        message = compression.compress(compression_name, message)
        params["compression"] = compression_name
    if binary:
        params["base64"] = "1"
        text = base64.urlsafe_b64encode(message).rstrip(b"=").decode("ascii")
    else:
        try:
            text = quote(message.decode("utf-8"), safe="")
        except UnicodeDecodeError as exc:
            raise UsageError("a JSON GET request must be UTF-8") from exc
    params["encoding"] = codec
    params["message"] = text
    return "&".join(f"{name}={params[name]}" for name in GET_PARAM_ORDER if name in params)


class ConnectClient:
    """The Connect client half for one call: request heads, bodies and a response decoder."""

    def __init__(
        self,
        path: str,
        *,
        codec: str,
        streaming: bool,
        metadata: Metadata,
        timeout: float | None = None,
        compression_name: str | None = None,
        max_message_size: int,
        use_get: bool = False,
    ) -> None:
        self.path = path
        self.codec = codec
        self.streaming = streaming
        self.metadata = metadata
        self.timeout = timeout
        self.compression = compression.request_encoding(compression_name)
        self.max_message_size = max_message_size
        self.use_get = use_get
        # Heads that are the same for every call of this client, built on first use (bad
        # metadata fails the call, not the channel's `open`): the unary POST's and the stream's.
        self._unary_head: RequestHead | None = None
        self._stream_head: RequestHead | None = None

    def _common_headers(self) -> list[tuple[str, str]]:
        headers = [("user-agent", USER_AGENT)]
        if self.timeout is not None:
            value = encode_connect_timeout(self.timeout)
            if value is not None:
                headers.append((CONNECT_TIMEOUT_HEADER, value))
        return headers

    def _user_headers(self) -> list[tuple[str, str]]:
        try:
            return self.metadata.to_wire_pairs()
        except ProtocolError as exc:
            raise UsageError(f"invalid request metadata: {exc.message}") from None

    def unary_request(self, message: bytes) -> tuple[RequestHead, bytes | None]:
        """A unary POST with the bare (optionally compressed) message, or a GET.

        A server-streaming call has one request message too, but it is enveloped.
        """
        if self.streaming:
            return self.stream_head(), self.encode_message(message)
        if self.use_get:
            headers = self._common_headers()
            query = get_query(self.codec, message, self.compression)
            headers.append((ACCEPT_ENCODING, ACCEPTED_ENCODINGS))
            return RequestHead("GET", f"{self.path}?{query}", (*headers, *self._user_headers())), None
        head = self._unary_head
        if head is None:
            head = self._unary_head = self._unary_post_head()
        if self.compression is not None:
            return head, compression.compress(self.compression, message)
        return head, message

    def _unary_post_head(self) -> RequestHead:
        headers = self._common_headers()
        headers[1:1] = [
            (CONTENT_TYPE, unary_content_type(self.codec)),
            (PROTOCOL_VERSION_HEADER, PROTOCOL_VERSION),
        ]
        if self.compression is not None:
            headers.append((CONTENT_ENCODING, self.compression))
        headers.append((ACCEPT_ENCODING, ACCEPTED_ENCODINGS))
        return RequestHead("POST", self.path, (*headers, *self._user_headers()))

    def stream_head(self) -> RequestHead:
        """The head of a streaming request (enveloped messages follow)."""
        if self._stream_head is None:
            self._stream_head = self._build_stream_head()
        return self._stream_head

    def _build_stream_head(self) -> RequestHead:
        headers = self._common_headers()
        headers[1:1] = [
            (CONTENT_TYPE, stream_content_type(self.codec)),
            (PROTOCOL_VERSION_HEADER, PROTOCOL_VERSION),
        ]
        if self.compression is not None:
            headers.append((STREAM_CONTENT_ENCODING, self.compression))
        headers.append((STREAM_ACCEPT_ENCODING, ACCEPTED_ENCODINGS))
        # Keep proxies and HTTP libraries from compressing the whole stream.
        headers.append((ACCEPT_ENCODING, compression.IDENTITY))
        return RequestHead("POST", self.path, (*headers, *self._user_headers()))

    def encode_message(self, message: bytes) -> bytes:
        """One enveloped request message (flag 0x01 when compressed)."""
        if self.compression is not None:
            return encode_envelope(compression.compress(self.compression, message), FLAG_COMPRESSED)
        return encode_envelope(message)

    def new_decoder(self) -> ConnectUnaryDecoder | ConnectStreamDecoder:
        """A decoder for this call's response."""
        if self.streaming:
            return ConnectStreamDecoder(self.codec, self.max_message_size)
        return ConnectUnaryDecoder(self.codec, self.max_message_size)


def _check_encoding(name: str | None, header: str) -> str | None:
    if name is None or not name.strip() or name.strip().lower() == compression.IDENTITY:
        return None
    if not compression.is_supported(name):
        raise ProtocolError(Code.INTERNAL, f"response uses unknown compression {header}: {name}")
    return name.strip().lower()


def _text(value: str | bytes | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value


class ConnectUnaryDecoder:
    """The response to a unary Connect call: a bare message, or a JSON error."""

    def __init__(self, codec: str, max_message_size: int) -> None:
        self.codec = codec
        self.max_message_size = max_message_size
        self.headers = Metadata()
        self.trailers = Metadata()
        self.status: Status | None = None
        self._http_status = 0
        self._content_type: str | None = None
        self._encoding: str | None = None
        self._raw_encoding: str | None = None
        self._body = BodyBuffer(max_message_size)

    def start(self, http_status: int, headers: Metadata) -> None:
        """Split ``trailer-`` headers off and validate a 200's content type and encoding."""
        if any(key.startswith(TRAILER_PREFIX) for key, _ in headers):
            self.headers, self.trailers = split_trailer_headers(headers)
        else:
            self.headers = headers.copy()  # the common answer: no trailers to split off
        self._http_status = http_status
        self._content_type = _text(headers.get(CONTENT_TYPE))
        self._raw_encoding = _text(headers.get(CONTENT_ENCODING))
        if http_status != 200:
            if media_type(self._content_type) != "application/json":
                self._body = BodyBuffer(SNIPPET_BYTES, truncate=True)
            return
        media = media_type(self._content_type)
        if not media.startswith(UNARY_MEDIA_PREFIX):
            self._fail(Code.UNKNOWN, f"unexpected content type {self._content_type!r}")
        if media != unary_content_type(self.codec):
            self._fail(
                Code.INTERNAL,
                f"response content type {self._content_type!r} does not match the {self.codec} codec",
            )
        try:
            self._encoding = _check_encoding(self._raw_encoding, CONTENT_ENCODING)
        except ProtocolError as exc:
            self._fail(exc.code, exc.message)
        length = _text(headers.get(CONTENT_LENGTH))
        if length is not None and declared_past(length.strip(), self.max_message_size):
            # Refused at the headers: a server announcing 4 GiB is not waited for.
            size, limit = clip(length.strip(), 40), self.max_message_size
            self._fail(Code.RESOURCE_EXHAUSTED, f"message size {size} is larger than configured max {limit}")

    def feed(self, data: bytes) -> list[bytes]:
        """Collect body bytes (bounded); the message comes at `finish`."""
        try:
            self._body.add(data)
        except ProtocolError as exc:
            self._fail(exc.code, exc.message)
        return []

    def take_trailers(self, trailers: Metadata) -> None:
        """Ignored: Connect unary trailers travel as ``trailer-`` headers, not HTTP trailers."""

    def finish(self) -> list[bytes]:
        """The one response message, or the error the body or HTTP status describes."""
        body = self._body.getvalue()
        if self._http_status != 200:
            encoding = self._raw_encoding or compression.IDENTITY
            if body and compression.is_supported(encoding):
                with contextlib.suppress(RpcError):
                    body = compression.decompress(encoding, body, self.max_message_size)
            error = parse_connect_error(body, self._http_status, self._content_type)
            return self._raise(error)
        if self._encoding is not None and body:
            try:
                body = compression.decompress(self._encoding, body, self.max_message_size)
            except RpcError as exc:
                self._fail(exc.code if exc.code is Code.RESOURCE_EXHAUSTED else Code.INTERNAL, exc.message)
        self.status = Status(Code.OK)
        return [body]

    def _fail(self, code: Code, message: str) -> NoReturn:
        error = ProtocolError(code, message)
        self.status = error.status
        raise error

    def _raise(self, error: RpcError) -> list[bytes]:
        error = RpcError(error.code, error.message, error.details, self.trailers.items())
        self.status = error.status
        raise error


class ConnectStreamDecoder:
    """The response to a streaming Connect call: envelopes, then the end-stream message."""

    def __init__(self, codec: str, max_message_size: int) -> None:
        self.codec = codec
        self.max_message_size = max_message_size
        self.headers = Metadata()
        self.trailers = Metadata()
        self.status: Status | None = None
        self._http_status = 0
        self._content_type: str | None = None
        self._encoding: str | None = None
        self._reader = EnvelopeReader(max_message_size, FLAG_COMPRESSED | FLAG_END_STREAM)
        self._error_body: BodyBuffer | None = None
        # An end-stream error is raised at `finish`, after the messages before it.
        self._end_error: RpcError | None = None

    def start(self, http_status: int, headers: Metadata) -> None:
        """Validate status, content type and ``connect-content-encoding``."""
        self.headers = headers
        self._http_status = http_status
        self._content_type = _text(headers.get(CONTENT_TYPE))
        if http_status != 200:
            json_body = media_type(self._content_type) == "application/json"
            limit = self.max_message_size if json_body else SNIPPET_BYTES
            self._error_body = BodyBuffer(limit, truncate=True)
            return
        media = media_type(self._content_type)
        if not media.startswith(STREAM_MEDIA_PREFIX):
            self._fail(Code.UNKNOWN, f"unexpected content type {self._content_type!r}")
        if media != stream_content_type(self.codec):
            self._fail(
                Code.INTERNAL,
                f"response content type {self._content_type!r} does not match the {self.codec} codec",
            )
        try:
            encoding = _text(headers.get(STREAM_CONTENT_ENCODING))
            self._encoding = _check_encoding(encoding, STREAM_CONTENT_ENCODING)
        except ProtocolError as exc:
            self._fail(exc.code, exc.message)

    def feed(self, data: bytes) -> list[bytes]:
        """Take body bytes; return the data messages they complete."""
        if self._error_body is not None:
            self._error_body.add(data)
            return []
        try:
            envelopes = self._reader.feed(data)
        except ProtocolError as exc:
            self.status = exc.status
            raise
        out: list[bytes] = []
        for envelope in envelopes:
            payload = self._payload(envelope.data, envelope.compressed)
            if envelope.end_stream:
                self._end(payload)
            else:
                out.append(payload)
        return out

    def take_trailers(self, trailers: Metadata) -> None:
        """Ignored: Connect streams carry their trailers in the end-stream message."""

    def finish(self) -> list[bytes]:
        """Check the body ended cleanly: after exactly one end-stream message."""
        if self._error_body is not None:
            error = parse_connect_error(self._error_body.getvalue(), self._http_status, self._content_type)
            self.status = error.status
            raise error
        try:
            self._reader.finish()
        except ProtocolError as exc:
            self.status = exc.status
            raise
        if not self._reader.ended:
            self._fail(Code.INTERNAL, "stream ended without an end-stream message")
        if self._end_error is not None:
            self.status = self._end_error.status
            raise self._end_error
        return []

    def _payload(self, data: bytes, compressed: bool) -> bytes:
        if not compressed:
            return data
        try:
            return compression.decompress_response(self._encoding, data, self.max_message_size)
        except RpcError as exc:
            self._fail(exc.code, exc.message)

    def _end(self, payload: bytes) -> None:
        try:
            error, self.trailers = parse_end_stream(payload)
        except ProtocolError as exc:
            self.status = exc.status
            raise
        if error is not None:
            self._end_error = error
            return
        self.status = Status(Code.OK)

    def _fail(self, code: Code, message: str) -> NoReturn:
        error = ProtocolError(code, message, (), self.trailers.items())
        self.status = error.status
        raise error


def plainly_ok_unary(
    status: int, headers: list[tuple[bytes, bytes]], body: bytes, content_type: bytes, max_size: int
) -> bool:
    """Whether a unary answer is plainly OK: 200, ``content_type`` (the request's own), no
    ``content-encoding``, a body within ``max_size``. ``headers`` is a header list as bytes.

    False means "not sure": the answer then goes through `ConnectUnaryDecoder`, which agrees
    on every answer accepted here.
    """
    return status == 200 and len(body) <= max_size and plain_head(headers, content_type, CONTENT_ENCODING_B)
