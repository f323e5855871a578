"""Per-message compression: identity, gzip and deflate (zlib, RFC 1950) (gRPC's compression.md).

Every message is compressed on its own. Decompression is streamed into a buffer capped at
``max_size + 1`` bytes, so a decompression bomb is refused without being inflated (a guard of
rpcctl's own, not a spec rule).
"""

from __future__ import annotations

from rpcctl.errors import RpcError, UsageError
from rpcctl.wire.envelope import DEFAULT_MAX_MESSAGE_SIZE
from rpcctl.wire.status import Code

IDENTITY = "identity"
GZIP = "gzip"
DEFLATE = "deflate"
# Most preferred first; identity is always acceptable as the least preferred choice.
SUPPORTED = (GZIP, DEFLATE, IDENTITY)

_WBITS = {GZIP: 31, DEFLATE: 15}  # 31: gzip header (RFC 1952); 15: zlib header (RFC 1950)
_LEVEL = 6


def is_supported(name: str) -> bool:
    """Whether ``name`` (case-insensitive) is an encoding this module implements."""
    return name.strip().lower() in SUPPORTED


def request_encoding(name: str | None) -> str | None:
    """The encoding a client was asked to compress requests with, lowercase; None for none.

    ``identity`` (in any case) is no compression: no encoding header, no compressed flag.
    `UsageError` for an encoding this module does not implement.
    """
    if name is None:
        return None
    chosen = name.strip().lower()
    if chosen not in SUPPORTED:
        raise UsageError(f"unsupported compression {name!r}")
    return None if chosen == IDENTITY else chosen


def _unsupported(name: str) -> RpcError:
    # Servers answer UNIMPLEMENTED (compression.md, "Compression Method Asymmetry Between Peers");
    # a client translates to INTERNAL for responses.
    return RpcError(
        Code.UNIMPLEMENTED,
        f"unknown compression {name!r}: supported encodings are {', '.join(SUPPORTED)}",
    )


def compress(name: str, data: bytes) -> bytes:
    """Compress one message with the encoding ``name``."""
    key = name.lower()
    if key == IDENTITY:
        return data
    wbits = _WBITS.get(key)
    if wbits is None:
        raise _unsupported(name)
    import zlib  # a shared library (~0.2 ms to load): only a compressed message needs it

    comp = zlib.compressobj(_LEVEL, zlib.DEFLATED, wbits)
    return comp.compress(data) + comp.flush()


def decompress(name: str, data: bytes, max_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> bytes:
    """Decompress one message, refusing output larger than ``max_size`` bytes.

    Raises RpcError RESOURCE_EXHAUSTED past the limit, INTERNAL on corrupt or truncated
    input, UNIMPLEMENTED on an unknown encoding. A zero-length payload is an empty message.
    """
    key = name.lower()
    if key == IDENTITY:
        if len(data) > max_size:
            raise _too_large(max_size)
        return data
    wbits = _WBITS.get(key)
    if wbits is None:
        raise _unsupported(name)
    if not data:
        return b""
    import zlib

    out = bytearray()
    pending = data
    # gzip allows several concatenated members (RFC 1952 §2.2); zlib streams do not.
    while True:
        dec = zlib.decompressobj(wbits)
        try:
            out += dec.decompress(pending, max_size + 1 - len(out))
        except zlib.error as exc:
            raise RpcError(Code.INTERNAL, f"corrupt {key} message: {exc}") from exc
        if len(out) > max_size:
            raise _too_large(max_size)
        if not dec.eof:
            if dec.unconsumed_tail:
                # The cap was reached exactly and input remains: the output would grow further.
                raise _too_large(max_size)
            raise RpcError(Code.INTERNAL, f"corrupt {key} message: truncated stream")
        pending = dec.unused_data
        if not pending:
            return bytes(out)
        if key != GZIP:
            raise RpcError(Code.INTERNAL, f"corrupt {key} message: {len(pending)} bytes after end of stream")


def decompress_response(encoding: str | None, data: bytes, max_size: int) -> bytes:
    """A response message flagged compressed, with the encoding the response negotiated.

    A client's view of gRPC's compression.md and statuscodes.md: a compressed message without
    a negotiated encoding (None, empty or identity), an unknown encoding, or corrupt data is
    INTERNAL; output past ``max_size`` is RESOURCE_EXHAUSTED. Raises `RpcError` with those codes.
    """
    name = (encoding or "").strip().lower()
    if name in ("", IDENTITY):
        raise RpcError(Code.INTERNAL, "received a compressed message without negotiated compression")
    if not data:
        return data
    try:
        return decompress(name, data, max_size)
    except RpcError as exc:
        code = exc.code if exc.code is Code.RESOURCE_EXHAUSTED else Code.INTERNAL
        raise RpcError(code, exc.message) from None


def _too_large(max_size: int) -> RpcError:
    return RpcError(Code.RESOURCE_EXHAUSTED, f"decompressed message larger than {max_size} bytes")


def accept_header() -> str:
    """The ``grpc-accept-encoding`` / ``accept-encoding`` value this side can decode."""
    return ", ".join(SUPPORTED)


def negotiate(accept_list: str) -> str:
    """The encoding to answer with, given a peer's ordered accept list (most preferred first).

    Picks the first supported name; q-values are honoured if present (``q=0`` excludes a
    name, higher q wins, ties keep list order). Falls back to identity.
    """
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_list.split(",")):
        token, _, params = item.partition(";")
        name = token.strip().lower()
        if not name:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if quality > 0 and name in SUPPORTED:
            ranked.append((-quality, index, name))
    return min(ranked)[2] if ranked else IDENTITY
