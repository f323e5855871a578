"""Metadata (headers and trailers): an ordered multi-map with binary ``-bin`` values.

Keys are lowercase. Values are ``str`` (ASCII) or, for keys ending in ``-bin``, ``bytes``.
On the wire ``-bin`` values are standard base64, emitted unpadded and accepted padded or
not. A received ``-bin`` value that is not valid base64 is kept as its raw ``str`` text
instead of failing the call (gRPC-Web text mode may skip the base64: PROTOCOL-WEB.md,
"Text-encoded (response) streams", item 3); ``to_wire_pairs`` sends such a value back
verbatim, so a proxy forwards it unchanged. Names and values: PROTOCOL-HTTP2.md, "Requests"
(Custom-Metadata).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator

from rpcctl.errors import ProtocolError, UsageError
from rpcctl.wire.status import Code

BINARY_SUFFIX = "-bin"
RESERVED_PREFIXES = ("grpc-", "connect-", "trailer-")
# connect-go header.go protocolHeaders, lowercased; "trailer-" is a prefix (see `without`).
PROTOCOL_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "host",
        "user-agent",
        "trailer",
        "date",
        "accept-encoding",
        "trailer-",
        "connect-content-encoding",
        "connect-accept-encoding",
        "connect-timeout-ms",
        "connect-protocol-version",
        "grpc-encoding",
        "grpc-accept-encoding",
        "grpc-timeout",
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
    }
)
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

_NAME_RE = re.compile(r"[0-9a-z_.\-]+")
_STRICT_VALUE_RE = re.compile(r"[\t\x20-\x7e]*")
_INJECTION_RE = re.compile(r"[\r\n\x00]")

Value = str | bytes


def check_name(name: str) -> None:
    """Raise ProtocolError INTERNAL unless ``name`` matches ``1*( 0-9 / a-z / _ / - / . )``."""
    if not _NAME_RE.fullmatch(name):
        raise ProtocolError(
            Code.INTERNAL, f"invalid metadata name {name!r}: allowed characters are 0-9 a-z _ - ."
        )


def check_value(value: Value, *, strict: bool = True) -> None:
    """Raise ProtocolError INTERNAL on a value that could inject headers.

    CR, LF and NUL are always refused. ``strict`` also refuses any other character outside
    printable ASCII and HTAB (binary data belongs under a ``-bin`` key). ``bytes`` values are
    base64-encoded on the wire, so any content is safe.
    """
    if isinstance(value, bytes):
        return
    if _INJECTION_RE.search(value):
        raise ProtocolError(
            Code.INTERNAL, f"invalid metadata value {value!r}: CR, LF and NUL are not allowed"
        )
    if strict and not _STRICT_VALUE_RE.fullmatch(value):
        raise ProtocolError(
            Code.INTERNAL,
            f"invalid metadata value {value!r}: only printable ASCII is allowed "
            "(use a -bin key for binary data)",
        )


def encode_binary_value(data: bytes) -> str:
    """Standard-alphabet base64 without padding, as ``-bin`` values should be sent."""
    return base64.b64encode(data).rstrip(b"=").decode("ascii")


def decode_binary_value(text: str) -> bytes:
    """Decode padded or unpadded standard base64 strictly; raise ValueError if invalid."""
    text = text.strip()
    if len(text) % 4:
        text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64 {text!r}: {exc}") from None


class Metadata:
    """An ordered multi-map of (lowercase key, value); repeated keys keep their order.

    Iterating yields ``(key, value)`` pairs, so a Metadata is also a sequence of pairs.
    """

    __slots__ = ("_pairs",)

    def __init__(self, pairs: Iterable[tuple[str, Value]] = ()) -> None:
        self._pairs: list[tuple[str, Value]] = []
        for key, value in pairs:
            self.add(key, value)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, Value]]) -> Metadata:
        """Build from already decoded pairs (``bytes`` for ``-bin`` keys)."""
        return cls(pairs)

    @classmethod
    def from_header_bytes(cls, headers: Iterable[tuple[bytes, bytes]]) -> Metadata:
        """Build from an HTTP/2 header list as bytes (HPACK's output), pseudo-headers left out."""
        return cls.from_wire_pairs(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in headers
            if not name.startswith(b":")
        )

    @classmethod
    def from_wire_pairs(cls, pairs: Iterable[tuple[str, str]]) -> Metadata:
        """Build from header text: lowercase names, strip SP/HTAB, decode ``-bin`` values.

        A ``-bin`` header is split on ``,`` first (joined duplicates); each part that is not
        valid base64 is kept as its raw text.
        """
        md = cls()
        append = md._pairs.append
        for raw_key, raw_value in pairs:
            key = raw_key.strip().lower()
            value = raw_value.strip(" \t")
            if not key.endswith(BINARY_SUFFIX):
                append((key, value))
                continue
            for part in value.split(","):
                part = part.strip(" \t")
                try:
                    append((key, decode_binary_value(part)))
                except ValueError:
                    append((key, part))
        return md

    def add(self, key: str, value: Value) -> None:
        """Append one value; ``key`` is lowercased. ``bytes`` only under ``-bin`` keys."""
        key = key.lower()
        if isinstance(value, bytes) and not key.endswith(BINARY_SUFFIX):
            raise TypeError(f"metadata key {key!r} needs a str value; bytes need a -bin key")
        self._pairs.append((key, value))

    def extend(self, pairs: Iterable[tuple[str, Value]]) -> None:
        """Append every pair of ``pairs`` in order."""
        for key, value in pairs:
            self.add(key, value)

    def get(self, key: str, default: Value | None = None) -> Value | None:
        """The first value of ``key``, or ``default``."""
        key = key.lower()
        for k, v in self._pairs:
            if k == key:
                return v
        return default

    def get_all(self, key: str) -> list[Value]:
        """Every value of ``key`` in order."""
        key = key.lower()
        return [v for k, v in self._pairs if k == key]

    def keys(self) -> list[str]:
        """The distinct keys in order of first appearance."""
        return list(dict.fromkeys(k for k, _ in self._pairs))

    def items(self) -> list[tuple[str, Value]]:
        """All (key, value) pairs in order."""
        return list(self._pairs)

    def copy(self) -> Metadata:
        """A shallow copy."""
        md = Metadata()
        md._pairs = list(self._pairs)
        return md

    def without(self, names: Iterable[str]) -> Metadata:
        """A copy without the given names; an entry ending in ``-`` removes a whole prefix."""
        exact: set[str] = set()
        prefixes: list[str] = []
        for name in names:
            name = name.lower()
            if name.endswith("-"):
                prefixes.append(name)
            else:
                exact.add(name)
        prefix_tuple = tuple(prefixes)
        md = Metadata()
        md._pairs = [(k, v) for k, v in self._pairs if k not in exact and not k.startswith(prefix_tuple)]
        return md

    def to_wire_pairs(self, *, strict: bool = True) -> list[tuple[str, str]]:
        """Header text pairs, ``-bin`` bytes as unpadded base64; names and values checked.

        Raises ProtocolError INTERNAL on a name or value that could inject headers.
        """
        out: list[tuple[str, str]] = []
        for key, value in self._pairs:
            check_name(key)
            if isinstance(value, bytes):
                out.append((key, encode_binary_value(value)))
            else:
                check_value(value, strict=strict)
                out.append((key, value))
        return out

    def header_list_size(self) -> int:
        """Size as HTTP/2 counts it: name + value + 32 per field, ``-bin`` after base64."""
        total = 0
        for key, value in self._pairs:
            size = len(encode_binary_value(value)) if isinstance(value, bytes) else len(value)
            total += len(key) + size + 32
        return total

    def __iter__(self) -> Iterator[tuple[str, Value]]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        key = key.lower()
        return any(k == key for k, _ in self._pairs)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Metadata):
            return self._pairs == other._pairs
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Metadata({self._pairs!r})"


def parse_header_option(text: str) -> tuple[str, Value]:
    """Parse the CLI's ``-H "name: value"``; a ``-bin`` value is given as base64.

    Raises UsageError on a missing colon, a bad name, an injected CR/LF/NUL or bad base64.
    """
    name, sep, value = text.partition(":")
    name = name.strip().lower()
    if not sep or not name:
        raise UsageError(f"invalid header {text!r}: expected 'NAME: VALUE'")
    value = value.strip(" \t")
    from rpcctl.proxy.redact import is_credential_header

    # A credential's value is never echoed in a message (it would land in CI logs).
    secret = is_credential_header(name)
    try:
        check_name(name)
        if name.endswith(BINARY_SUFFIX):
            try:
                return name, decode_binary_value(value)
            except ValueError:
                shown = "its value" if secret else repr(clip(value))
                reason = f"a -bin header's value is base64 (A-Z a-z 0-9 + /), and {shown} is not"
                raise UsageError(f"invalid header {name!r}: {reason}") from None
        check_value(value)
    except ProtocolError as exc:
        if secret:
            reason = exc.message.replace(repr(value), "(not shown: a credential)")
            raise UsageError(f"invalid header {name!r}: {reason}") from None
        raise UsageError(f"invalid header: {exc.message}") from None
    return name, value


# ESC and other C0 controls except \t and \n, DEL, C1 controls, and the bidi embedding,
# override and isolate characters (rpcctl's own rule for printing what a peer sent): each
# becomes a visible \xNN or \uNNNN escape.
_UNSAFE_CODEPOINTS = (
    [c for c in range(0x20) if c not in (0x09, 0x0A)]
    + list(range(0x7F, 0xA0))
    + [0x061C, 0x200E, 0x200F]
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
)
_TERMINAL_TABLE = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _UNSAFE_CODEPOINTS}


def sanitize_for_terminal(text: str) -> str:
    r"""Make server-supplied text safe to print: control and bidi characters become escapes.

    ESC prints as ``\x1b``, CR as ``\x0d``, U+202E as ``\u202e``; ``\n`` and ``\t`` stay.
    Backslashes are not doubled, so the result is for display, not for round-tripping.
    """
    return text.translate(_TERMINAL_TABLE)


PEER_TEXT_LIMIT = 200
"""Characters of a peer-supplied token (a bad status, an unknown code) echoed in a message."""


def clip(text: str, limit: int = PEER_TEXT_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, the last of them an ellipsis when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
