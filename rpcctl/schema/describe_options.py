"""Options as proto source: `deprecated = true`, `(pkg.opt) = { text format }`, `features.x = Y`.

The option messages of a FileDescriptorProto hold custom options as extensions that only the
schema's own pool knows, so they are read again through that pool's classes. Values follow the
protobuf language guide (https://protobuf.dev/programming-guides/proto2/#options) and the text
format spec (https://protobuf.dev/reference/protobuf/textformat-spec/) for message values.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from google.protobuf import message_factory, text_encoding, text_format
from google.protobuf.descriptor import FieldDescriptor, FileDescriptor
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message import DecodeError, Message

_F = FieldDescriptor

#: Standard options whose message values read best as dotted paths, one leaf per option.
_FLATTENED = frozenset({"features"})


def _aggregates(file: FileDescriptor) -> frozenset[str]:
    """Full names of packages, messages, enums and services visible while compiling `file`."""
    names: set[str] = set()
    seen: set[str] = set()
    todo = [file]
    while todo:
        current = todo.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        todo.extend(current.dependencies)
        parts = current.package.split(".") if current.package else []
        names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        messages = list(current.message_types_by_name.values())
        names.update(e.full_name for e in current.enum_types_by_name.values())
        names.update(s.full_name for s in current.services_by_name.values())
        while messages:
            msg = messages.pop()
            names.add(msg.full_name)
            names.update(e.full_name for e in msg.enum_types)
            messages.extend(msg.nested_types)
    return frozenset(names)


@dataclass
class OptionReader:
    """Reads the option messages of one file with the classes of its pool."""

    file: FileDescriptor
    _classes: dict[str, type[Message] | None] = field(default_factory=dict)
    _names: frozenset[str] | None = None

    @property
    def pool(self) -> DescriptorPool:
        """The pool the file lives in."""
        return self.file.pool

    def _reparse(self, options: Message) -> Message:
        name = options.DESCRIPTOR.full_name
        if name not in self._classes:
            try:
                desc = self.pool.FindMessageTypeByName(name)
                self._classes[name] = message_factory.GetMessageClass(desc)
            except KeyError:
                self._classes[name] = None  # no descriptor.proto in the pool: no custom options
        cls = self._classes[name]
        if cls is None:
            return options
        try:
            return cls.FromString(options.SerializeToString())
        except DecodeError:  # pragma: no cover - the bytes came from a parsed message
            return options

    def options(self, options: Message, scope: str) -> list[tuple[str, str]]:
        """(name, value) pairs of every option set, in field-number order; `scope` for names."""
        if not options.ByteSize():
            return []
        parsed = self._reparse(options)
        pairs: list[tuple[str, str]] = []
        for fd, value in parsed.ListFields():
            name = self._name(fd, scope)
            values = value if fd.is_repeated else [value]
            for item in values:
                if fd.name in _FLATTENED and not fd.is_extension and isinstance(item, Message):
                    pairs.extend(self._flatten(name, item, scope))
                else:
                    pairs.append((name, self.value(fd, item)))
        return pairs

    def _flatten(self, prefix: str, msg: Message, scope: str) -> Iterator[tuple[str, str]]:
        for fd, value in msg.ListFields():
            name = f"{prefix}.{self._name(fd, scope)}"
            if fd.type == _F.TYPE_MESSAGE and not fd.is_repeated:
                yield from self._flatten(name, value, scope)
            else:
                for item in value if fd.is_repeated else [value]:
                    yield name, self.value(fd, item)

    def _name(self, fd: FieldDescriptor, scope: str) -> str:
        if not fd.is_extension:
            return str(fd.name)
        return f"({self.reference(fd.full_name, scope)})"

    def reference(self, full_name: str, scope: str) -> str:
        """`full_name` as written in `scope`: without the leading dot unless a nearer name would shadow it.

        protoc resolves the first component from the innermost scope outwards
        (https://protobuf.dev/programming-guides/proto3/#packages-and-name-resolution).
        """
        if self._names is None:
            self._names = _aggregates(self.file)
        first = full_name.split(".", 1)[0]
        parts = scope.split(".") if scope else []
        for depth in range(len(parts), 0, -1):
            candidate = ".".join((*parts[:depth], first))
            if candidate != full_name and candidate in self._names:
                return "." + full_name
        return full_name

    def value(self, fd: FieldDescriptor, value: object) -> str:
        """One option value as proto source."""
        return format_value(fd, value, self.pool)


def format_value(fd: FieldDescriptor, value: object, pool: DescriptorPool | None = None) -> str:
    """A scalar, enum or message value as it is written after `=` in a .proto file."""
    kind = fd.type
    if kind in (_F.TYPE_MESSAGE, _F.TYPE_GROUP):
        assert isinstance(value, Message)
        text = text_format.MessageToString(value, as_one_line=True, descriptor_pool=pool)
        return f"{{ {text} }}" if text else "{}"
    if kind == _F.TYPE_ENUM:
        found = fd.enum_type.values_by_number.get(value)
        return str(found.name) if found is not None else str(value)
    if kind == _F.TYPE_BOOL:
        return "true" if value else "false"
    if kind in (_F.TYPE_STRING, _F.TYPE_BYTES):
        # proto2 strings may hold bytes that are not UTF-8; the runtime then hands out bytes.
        if isinstance(value, str):
            return f'"{text_encoding.CEscape(value, True)}"'
        assert isinstance(value, bytes)
        return f'"{text_encoding.CEscape(value, False)}"'
    if kind in (_F.TYPE_FLOAT, _F.TYPE_DOUBLE):
        assert isinstance(value, float)
        return format_float(value, single=kind == _F.TYPE_FLOAT)
    return str(value)


def format_float(value: float, single: bool = False) -> str:
    """A float literal protoc reads back to the same value (`inf`, `-inf`, `nan` included).

    `single`: the value is a 32-bit float; the shortest text that rounds back to it is used.
    """
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if single:
        packed = struct.pack("<f", value)
        for digits in range(6, 10):
            text = f"{value:.{digits}g}"
            if struct.pack("<f", float(text)) == packed:
                return text
    return repr(value)


def bracketed(pairs: list[tuple[str, str]]) -> str:
    """` [a = 1, (b) = 2]`, or nothing for no options."""
    if not pairs:
        return ""
    return " [" + ", ".join(f"{name} = {value}" for name, value in pairs) + "]"


#: Lines longer than this list their bracketed options one per line, as protobuf's own files do.
WRAP_WIDTH = 100


def bracketed_lines(head: str, pairs: list[tuple[str, str]], tail: str, indent: str) -> list[str]:
    """`head [a = 1, b = 2]tail` on one line, or over several when that line would be too long.

    `head` starts with `indent`; `tail` is what follows the options (`;`, ` {`, a comment).
    """
    one = f"{head}{bracketed(pairs)}{tail}"
    if len(one) <= WRAP_WIDTH or len(pairs) < 2:
        return [one]
    inner = indent + "  "
    items = [f"{inner}{name} = {value}," for name, value in pairs]
    items[-1] = items[-1][:-1]
    return [f"{head} [", *items, f"{indent}]{tail}"]
