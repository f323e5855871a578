"""What the server halves of every protocol share (sans-IO).

- `ResponseHead` / `ResponseEnd`: what a server half asks the HTTP layer to write.
- `EnvelopeRequestDecoder`: request messages from an enveloped body, with the size limit
  checked on the prefix and on the decompressed output (rpcctl's own guard against huge
  lengths and decompression bombs), per-message decompression (gRPC's compression.md) and,
  for gRPC-Web text, base64 decoding (PROTOCOL-WEB.md, "Content-Type").
- Compression negotiation and response-message encoding.
- `user_metadata_pairs`: a handler's headers or trailers as validated wire pairs, with the
  protocol and reserved names dropped so that a handler cannot forge a status (PROTOCOL-HTTP2.md
  reserves ``grpc-`` names, the Connect protocol ``connect-`` and ``trailer-connect-``).
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass, field

from rpcctl.errors import ProtocolError, RpcError
from rpcctl.protocols.base64_stream import Base64Stream
from rpcctl.wire import compression
from rpcctl.wire.envelope import FLAG_COMPRESSED, EnvelopeReader, encode_envelope
from rpcctl.wire.metadata import HOP_BY_HOP, PROTOCOL_HEADERS, RESERVED_PREFIXES, Metadata
from rpcctl.wire.status import Code

# Responses smaller than this are not worth compressing (connect-go's compressMinBytes idea).
COMPRESS_MIN_BYTES = 1024
# Names a handler may not set: the protocol owns them.
RESERVED_NAMES = frozenset({*PROTOCOL_HEADERS, *HOP_BY_HOP, *RESERVED_PREFIXES, "server", "vary"})
_RESERVED_EXACT = frozenset(n.lower() for n in RESERVED_NAMES if not n.endswith("-"))
_RESERVED_PREFIXES = tuple(n.lower() for n in RESERVED_NAMES if n.endswith("-"))


@dataclass(frozen=True)
class ResponseHead:
    """The status line and headers of a response; ``trailers`` when HTTP trailers follow."""

    status: int
    headers: list[tuple[str, str]]
    trailers: bool = False


@dataclass(frozen=True)
class ResponseEnd:
    """The last body bytes of a response and the HTTP trailers (native gRPC only)."""

    body: bytes = b""
    trailers: list[tuple[str, str]] = field(default_factory=list)


def user_metadata_pairs(md: Metadata) -> list[tuple[str, str]]:
    """A handler's metadata as header pairs, reserved names dropped.

    Raises ProtocolError INTERNAL on a name or value that could inject headers.
    """
    if not len(md):
        return []  # the common case: a handler that sets no metadata
    if any(k in _RESERVED_EXACT or k.startswith(_RESERVED_PREFIXES) for k, _ in md):
        return md.without(RESERVED_NAMES).to_wire_pairs()
    return md.to_wire_pairs()


def request_encoding(name: str | None) -> str | None:
    """The request's message encoding (None for identity); UNIMPLEMENTED if unsupported."""
    if name is None or not name.strip() or name.strip().lower() == compression.IDENTITY:
        return None
    if not compression.is_supported(name):
        raise RpcError(
            Code.UNIMPLEMENTED,
            f"unknown compression {name.strip()!r}: supported encodings are {compression.accept_header()}",
        )
    return name.strip().lower()


def response_encoding(accept: str | None, request_encoding: str | None) -> str | None:
    """The encoding to compress responses with (None for identity).

    Without an accept list the client accepts what it sent (Connect protocol, "Unary-Request").
    """
    if accept is None:
        return request_encoding
    return _negotiated(accept)


@functools.lru_cache(maxsize=256)
def _negotiated(accept: str) -> str | None:
    """`compression.negotiate` of an accept list (clients send the same few), identity as None."""
    chosen = compression.negotiate(accept)
    return None if chosen == compression.IDENTITY else chosen


def encode_message(data: bytes, encoding: str | None, flags: int = 0) -> bytes:
    """One response envelope, compressed when an encoding is negotiated and it pays off."""
    if encoding is not None and len(data) >= COMPRESS_MIN_BYTES:
        return encode_envelope(compression.compress(encoding, data), flags | FLAG_COMPRESSED)
    return encode_envelope(data, flags)


class EnvelopeRequestDecoder:
    """Request messages from an enveloped request body fed in any chunking."""

    def __init__(self, max_size: int, encoding: str | None, *, text: bool = False) -> None:
        self._max_size = max_size
        self._encoding = encoding
        self._reader = EnvelopeReader(max_size, FLAG_COMPRESSED)
        self._text = Base64Stream() if text else None

    def feed(self, data: bytes) -> list[bytes]:
        """The messages that ``data`` completes."""
        if self._text is not None:
            data = self._text.feed(data)
        return [self._payload(env.data, env.compressed) for env in self._reader.feed(data)]

    def finish(self) -> list[bytes]:
        """Declare the end of the body; raise if it was cut short."""
        if self._text is not None:
            try:
                self._text.finish()
            except ProtocolError as exc:
                raise ProtocolError(Code.INVALID_ARGUMENT, exc.message) from None
        self._reader.finish()
        return []

    def _payload(self, data: bytes, compressed: bool) -> bytes:
        if not compressed:
            return data
        if self._encoding is None:
            raise ProtocolError(Code.INTERNAL, "sent compressed message without compression support")
        if not data:
            return data
        return compression.decompress(self._encoding, data, self._max_size)


def base64_frame(data: bytes) -> bytes:
    """Body bytes for gRPC-Web text mode: each write is padded base64 on its own.

    PROTOCOL-WEB.md, "Text-encoded (response) streams".
    """
    return base64.b64encode(data)
