"""JSON ⇄ protobuf messages, and an incremental reader of a stream of JSON values."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from rpcctl import jsonsafe
from rpcctl.errors import RpcError, UsageError
from rpcctl.wire.metadata import clip
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from google.protobuf.descriptor_pool import DescriptorPool
    from google.protobuf.message import Message

_WHITESPACE = " \t\r\n"
# Characters that can continue a bare scalar (number, true, false, null).
_SCALAR = frozenset("0123456789+-.eEabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


class JsonValueStream:
    """Parse a sequence of whitespace-separated JSON values fed in arbitrary chunks.

    Errors name the line and column counted across everything fed so far.
    """

    def __init__(self) -> None:
        self._buf = ""
        # Values are taken from the buffer by moving `_mark`, not by slicing it: slicing after
        # every value made a text of N values cost O(N²) (100,000 values: 27 s). The consumed
        # prefix is dropped once per `feed`.
        self._mark = 0  # index in _buf of the first character not yet consumed
        self._line = 1  # position of _buf[_mark] in the whole input
        self._col = 1
        self._start = -1  # index of the current value's first char, -1 between values
        self._pos = 0  # next index to scan
        self._depth = 0
        self._in_string = False
        self._escape = False

    def feed(self, text: str) -> list[Any]:
        """Add text; return the values it completed."""
        mark = self._mark
        if mark:
            self._buf = self._buf[mark:] + text
            self._pos -= mark
            if self._start >= 0:
                self._start -= mark
            self._mark = 0
        else:
            self._buf += text
        return self._scan(final=False)

    def finish(self) -> list[Any]:
        """End of input: return the last value, or fail if one is incomplete."""
        values = self._scan(final=True)
        if self._start >= 0:
            values.append(self._decode(self._start, len(self._buf)))
        return values

    def _scan(self, final: bool) -> list[Any]:
        values: list[Any] = []
        buf, i = self._buf, self._pos
        while i < len(buf):
            c = buf[i]
            if self._start < 0:
                if c in _WHITESPACE:
                    i += 1
                    continue
                self._start = i
                if c == '"':
                    self._in_string = True
                elif c in "{[":
                    self._depth = 1
                elif c not in _SCALAR:
                    # `}`, `]`, `,`, ... cannot start a value: let json report it.
                    self._decode(i, i + 1)
                i += 1
                continue
            start_char = buf[self._start]
            if self._in_string:
                if self._escape:
                    self._escape = False
                elif c == "\\":
                    self._escape = True
                elif c == '"':
                    self._in_string = False
                    if start_char == '"':
                        values.append(self._complete(i + 1))
                        i += 1
                        continue
                i += 1
                continue
            if start_char in "{[":
                if c == '"':
                    self._in_string = True
                elif c in "{[":
                    self._depth += 1
                elif c in "}]":
                    self._depth -= 1
                    if self._depth == 0:
                        values.append(self._complete(i + 1))
                        i += 1
                        continue
                i += 1
                continue
            if c in _SCALAR:
                i += 1
                continue
            values.append(self._complete(i))  # `c` ends the scalar: scanned again as a separator
        self._pos = i
        if final and self._start >= 0 and buf[self._start] not in '"{[':
            values.append(self._complete(len(buf)))
        return values

    def _complete(self, end: int) -> Any:
        """Decode buf[start:end], then drop it from the buffer."""
        value = self._decode(self._start, end)
        self._advance(end)
        self._start = -1
        self._depth = 0
        return value

    def _advance(self, end: int) -> None:
        consumed = self._buf[self._mark : end]
        newlines = consumed.count("\n")
        if newlines:
            self._line += newlines
            self._col = len(consumed) - consumed.rfind("\n")
        else:
            self._col += len(consumed)
        self._mark = end

    def _decode(self, start: int, end: int) -> Any:
        try:
            return jsonsafe.loads(self._buf[start:end])
        except json.JSONDecodeError as exc:
            before = self._buf[self._mark : start + exc.pos]
            newlines = before.count("\n")
            line = self._line + newlines
            col = len(before) - before.rfind("\n") if newlines else self._col + len(before)
            raise UsageError(f"invalid JSON at line {line}, column {col}: {exc.msg}") from exc


def parse_json_values(text: str) -> list[Any]:
    """All JSON values of a text (whitespace-separated)."""
    stream = JsonValueStream()
    return [*stream.feed(text), *stream.finish()]


_UNKNOWN = r'Message type "(?P<type>[^"]+)" has no field named "(?P<field>[^"]+)"'
_NESTED = r"^Failed to parse (?P<field>\S+) field: "  # re compiles these when a request fails
_WHERE = r"\s+at [\w.\[\]]+\.*$"
_NO_TYPE = r"Can not find message descriptor by type_url: (?P<url>\S+)"


def message_from_json(value: Any, cls: type[Message], pool: DescriptorPool | None = None) -> Message:
    """Build a message from a proto3 JSON value; `pool` resolves `Any` type URLs."""
    from google.protobuf import json_format

    from rpcctl.schema.json_bytes import bad_bytes

    msg = cls()
    # Checked first: protobuf's parser drops what is not base64, or says "Incorrect padding".
    bad = bad_bytes(value, msg.DESCRIPTOR, pool or msg.DESCRIPTOR.file.pool)
    if bad is not None:
        where, text = bad
        raise UsageError(
            f"invalid value {json.dumps(text)} for field {where} of {msg.DESCRIPTOR.full_name}: "
            "expected a base64 string (standard or URL-safe)"
        )
    try:
        json_format.ParseDict(value, msg, descriptor_pool=pool)
    except json_format.ParseError as exc:
        own_pool = pool or msg.DESCRIPTOR.file.pool
        raise UsageError(_explain(str(exc), value, msg.DESCRIPTOR.full_name, own_pool)) from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"invalid value for {msg.DESCRIPTOR.full_name}: {exc}") from exc
    return msg


def _explain(text: str, value: Any, type_name: str, pool: DescriptorPool | None = None) -> str:
    path: list[str] = []
    while match := re.match(_NESTED, text):
        path.append(match["field"])
        text = text[match.end() :]
    where = f" (at {'.'.join(path)})" if path else ""
    no_type = re.search(_NO_TYPE, text)
    if no_type:
        return f"unknown type {no_type['url']!r} in an Any{where}: no schema describes it"
    unknown = re.search(_UNKNOWN, text)
    if unknown:
        close = _close_field(unknown["field"], unknown["type"], pool)
        hint = f"; did you mean {close!r}?" if close else ""
        return f"unknown field {clip(unknown['field'])!r} in {unknown['type']}{where}{hint}"
    reason = re.sub(_WHERE, "", text.split("\n", 1)[0]).rstrip(".")
    if reason.startswith("@type is missing"):
        reason = 'an Any needs "@type", the URL of its type (type.googleapis.com/pkg.Message)'
    if not path:
        return f"invalid {type_name}: {reason}"
    shown = _lookup(value, path)
    got = f" {json.dumps(shown)}" if shown is not _MISSING else ""
    return f"invalid value{got} for field {'.'.join(path)} of {type_name}: {reason}"


_MISSING = object()


def _close_field(name: str, type_name: str, pool: DescriptorPool | None) -> str | None:
    """The JSON name of the field of `type_name` that `name` looks like a typo of, if one does."""
    import difflib

    from rpcctl.schema.anys import find_type

    desc = find_type(pool, type_name)
    if desc is None:
        return None
    names = {f.json_name: f.json_name for f in desc.fields}
    names.update({f.name: f.json_name for f in desc.fields})
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    return names[close[0]] if close else None


def _lookup(value: Any, path: list[str]) -> Any:
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def message_to_json(
    msg: Message,
    emit_defaults: bool = False,
    pool: DescriptorPool | None = None,
    unknown: list[str] | None = None,
) -> Any:
    """The proto3 JSON form of a message (camelCase names, int64 as strings).

    An `Any` whose type `pool` lacks is shown as grpcurl shows it, `{"@type", "@value"}`;
    its type URL is appended to `unknown` when given.
    """
    from google.protobuf import json_format

    from rpcctl.schema.anys import message_to_dict

    try:
        value, raw = message_to_dict(msg, emit_defaults, pool)
    except (TypeError, ValueError, json_format.Error) as exc:
        raise UsageError(f"cannot render {msg.DESCRIPTOR.full_name} as JSON: {exc}") from exc
    if unknown is not None:
        known = set(unknown)
        unknown.extend(url for url in raw if url not in known)
    return value


def message_to_text(msg: Message, pool: DescriptorPool | None = None) -> str:
    """The protobuf text format of a message (an `Any` received as JSON that no schema
    describes: its type URL and the object as a comment)."""
    from rpcctl.schema.json_anys import text_with_json_anys

    return text_with_json_anys(msg, pool)


def decode_message(data: bytes, cls: type[Message]) -> Message:
    """Parse a serialized message; garbage is an INTERNAL RpcError, as gRPC reports it."""
    from google.protobuf.message import DecodeError

    try:
        return cls.FromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        name = cls.DESCRIPTOR.full_name
        raise RpcError(Code.INTERNAL, f"cannot decode response as {name}: {exc}") from exc
