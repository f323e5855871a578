"""Messages, fields, groups, enums and `extend` blocks as proto source.

The text is what protoc compiles back to the same descriptor: labels as the syntax wants them
(https://protobuf.dev/programming-guides/proto2/, .../proto3/, .../editions/), groups as groups,
map fields as `map<K, V>`, `json_name` only where it differs from protoc's default, every option.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf import descriptor_pb2 as pb
from google.protobuf import text_encoding

from rpcctl.schema.describe_options import bracketed, bracketed_lines
from rpcctl.schema.describe_source import (
    ENUM_VALUE,
    INDENT,
    MSG_ENUM,
    MSG_EXTENSION,
    MSG_FIELD,
    MSG_NESTED,
    MSG_ONEOF,
    Source,
    SourcePath,
)

_F = pb.FieldDescriptorProto

#: The largest field number (descriptor.proto, FieldDescriptor::kMaxNumber) and enum value.
MAX_FIELD_NUMBER = 536870911
MAX_MESSAGE_SET_NUMBER = 2147483646
MAX_ENUM_NUMBER = 2147483647

_VISIBILITY = {pb.VISIBILITY_EXPORT: "export ", pb.VISIBILITY_LOCAL: "local "}


def _join(scope: str, name: str) -> str:
    return f"{scope}.{name}" if scope else name


def default_json_name(name: str) -> str:
    """protoc's JSON name for a field: underscores dropped, the letter after each upper-cased."""
    out: list[str] = []
    upper = False
    for char in name:
        if char == "_":
            upper = True
        elif upper:
            out.append(char.upper())
            upper = False
        else:
            out.append(char)
    return "".join(out)


def message(src: Source, msg: pb.DescriptorProto, path: SourcePath, indent: str, scope: str) -> list[str]:
    """A message declaration; `scope` is the full name of what encloses it."""
    visibility = _VISIBILITY.get(msg.visibility, "")
    lines = [*src.lead(path, indent), f"{indent}{visibility}message {msg.name} {{{src.trail(path)}"]
    body = _body(src, msg, path, indent + INDENT, _join(scope, msg.name))
    if not body:
        lines[-1] = lines[-1].replace("{", "{}", 1)
        return lines
    return [*lines, *body, f"{indent}}}"]


def inline_types(
    fields: Sequence[pb.FieldDescriptorProto], scope: str, types: Sequence[pb.DescriptorProto]
) -> dict[str, int]:
    """Names of the `types` that fields declare themselves (groups, map entries) → field index."""
    by_name = {t.name: t for t in types}
    found: dict[str, int] = {}
    for i, field in enumerate(fields):
        name = field.type_name.rsplit(".", 1)[-1]
        declared = by_name.get(name)
        if declared is None or field.type_name.lstrip(".") != _join(scope, name):
            continue
        if field.type == _F.TYPE_GROUP or (field.label == _F.LABEL_REPEATED and declared.options.map_entry):
            found[name] = i
    return found


def _body(src: Source, msg: pb.DescriptorProto, path: SourcePath, inner: str, full: str) -> list[str]:
    lines = src.option_lines(msg.options, full, inner)
    nested = {n.name: (i, n) for i, n in enumerate(msg.nested_type)}
    owned = inline_types(msg.field, full, msg.nested_type)
    ext_groups = inline_types(msg.extension, full, msg.nested_type)
    flushed = extended = 0

    def flush(upto: int) -> None:
        nonlocal flushed, extended
        while flushed < min(upto, len(msg.nested_type)):
            sub = msg.nested_type[flushed]
            if sub.name in ext_groups:
                # The group's type sits here in declaration order: its `extend` block goes here too.
                stop = ext_groups[sub.name] + 1
                ext_path = (*path, MSG_EXTENSION)
                lines.extend(
                    extend_blocks(src, msg.extension, ext_path, inner, full, msg.nested_type, extended, stop)
                )
                extended = max(extended, stop)
            elif sub.name not in owned:
                lines.extend(message(src, sub, (*path, MSG_NESTED, flushed), inner, full))
            flushed += 1

    real_oneofs = {f.oneof_index for f in msg.field if f.HasField("oneof_index") and not f.proto3_optional}
    done_oneofs: set[int] = set()
    for i, field in enumerate(msg.field):
        if field.HasField("oneof_index") and field.oneof_index in real_oneofs:
            index = field.oneof_index
            if index in done_oneofs:
                continue
            done_oneofs.add(index)
            members = [
                (j, f)
                for j, f in enumerate(msg.field)
                if f.HasField("oneof_index") and f.oneof_index == index
            ]
            flush(max((_owned(owned, nested, msg, j) for j, _ in members), default=-1))
            decl = msg.oneof_decl[index]
            opath = (*path, MSG_ONEOF, index)
            lines.extend(src.lead(opath, inner))
            lines.append(f"{inner}oneof {decl.name} {{{src.trail(opath)}")
            lines.extend(src.option_lines(decl.options, _join(full, decl.name), inner + INDENT))
            for j, member in members:
                lines.extend(
                    field_lines(src, member, (*path, MSG_FIELD, j), inner + INDENT, full, msg, in_oneof=True)
                )
            lines.append(f"{inner}}}")
            continue
        flush(_owned(owned, nested, msg, i))
        lines.extend(field_lines(src, field, (*path, MSG_FIELD, i), inner, full, msg, in_oneof=False))
    flush(len(msg.nested_type))
    for i, nested_enum in enumerate(msg.enum_type):
        lines.extend(enum(src, nested_enum, (*path, MSG_ENUM, i), inner, full))
    ext_path = (*path, MSG_EXTENSION)
    lines.extend(extend_blocks(src, msg.extension, ext_path, inner, full, msg.nested_type, extended))
    message_set = msg.options.message_set_wire_format
    for ext in msg.extension_range:
        top = MAX_MESSAGE_SET_NUMBER if message_set else MAX_FIELD_NUMBER
        opts = bracketed(src.options(ext.options, full)) if ext.HasField("options") else ""
        lines.append(f"{inner}extensions {_range(ext.start, ext.end - 1, top)}{opts};")
    ranges = [_range(r.start, r.end - 1, MAX_FIELD_NUMBER) for r in msg.reserved_range]
    lines.extend(_reserved(src, ranges, msg.reserved_name, inner))
    return lines


def _owned(
    owned: dict[str, int], nested: dict[str, tuple[int, pb.DescriptorProto]], msg: pb.DescriptorProto, i: int
) -> int:
    """The nested-type index a field declares inline, or -1."""
    name = msg.field[i].type_name.rsplit(".", 1)[-1]
    return nested[name][0] if owned.get(name) == i else -1


def field_lines(
    src: Source,
    field: pb.FieldDescriptorProto,
    path: SourcePath,
    indent: str,
    scope: str,
    container: pb.DescriptorProto | None,
    in_oneof: bool,
    siblings: Sequence[pb.DescriptorProto] = (),
) -> list[str]:
    """One field (or extension); a group brings its body along. `scope`: the enclosing full name."""
    types = list(container.nested_type) if container is not None else list(siblings)
    by_name = {t.name: t for t in types}
    short = field.type_name.rsplit(".", 1)[-1]
    declared = by_name.get(short) if field.type_name.lstrip(".") == _join(scope, short) else None
    pairs = _pseudo_options(src, field) + src.options(field.options, _join(scope, field.name))
    lead = src.lead(path, indent)
    trail = src.trail(path)
    if declared is not None and declared.options.map_entry and field.label == _F.LABEL_REPEATED:
        key, value = declared.field[0], declared.field[1]
        head = f"{indent}map<{_type(key)}, {_type(value)}> {field.name} = {field.number}"
        return [*lead, *bracketed_lines(head, pairs, f";{trail}", indent)]
    label = _label(src, field, in_oneof)
    if field.type == _F.TYPE_GROUP and declared is not None:
        gpath = (*path[:-2], MSG_NESTED, types.index(declared)) if container is not None else path
        head = f"{indent}{label}group {declared.name} = {field.number}"
        body = _body(src, declared, gpath, indent + INDENT, _join(scope, declared.name))
        return [*lead, *bracketed_lines(head, pairs, f" {{{trail}", indent), *body, f"{indent}}}"]
    head = f"{indent}{label}{_type(field)} {field.name} = {field.number}"
    return [*lead, *bracketed_lines(head, pairs, f";{trail}", indent)]


def _pseudo_options(src: Source, field: pb.FieldDescriptorProto) -> list[tuple[str, str]]:
    pairs = []
    if field.HasField("default_value"):
        pairs.append(("default", _default(field)))
    extension = field.HasField("extendee")
    if field.HasField("json_name") and not extension and field.json_name != default_json_name(field.name):
        pairs.append(("json_name", f'"{text_encoding.CEscape(field.json_name, True)}"'))
    return pairs


def _label(src: Source, field: pb.FieldDescriptorProto, in_oneof: bool) -> str:
    if field.label == _F.LABEL_REPEATED:
        return "repeated "
    if in_oneof or src.editions:
        return ""
    if field.label == _F.LABEL_REQUIRED:
        return "required "
    if field.proto3_optional or src.proto2:
        return "optional "
    return ""


def _type(field: pb.FieldDescriptorProto) -> str:
    if field.type in (_F.TYPE_MESSAGE, _F.TYPE_ENUM, _F.TYPE_GROUP) or not field.HasField("type"):
        return field.type_name
    return _F.Type.Name(field.type)[len("TYPE_") :].lower()


def _default(field: pb.FieldDescriptorProto) -> str:
    value = field.default_value
    if field.type == _F.TYPE_STRING:
        return f'"{text_encoding.CEscape(value, True)}"'
    if field.type == _F.TYPE_BYTES:
        # Stored C-escaped; escaped again from the bytes, so a hand-made descriptor cannot
        # smuggle a quote or a control character into the text.
        try:
            raw = text_encoding.CUnescape(value)
        except ValueError:
            raw = value.encode("utf-8", "surrogateescape")
        return f'"{text_encoding.CEscape(raw, False)}"'
    return value


def extend_blocks(
    src: Source,
    extensions: Sequence[pb.FieldDescriptorProto],
    path: SourcePath,
    indent: str,
    scope: str,
    siblings: Sequence[pb.DescriptorProto],
    start: int = 0,
    stop: int | None = None,
) -> list[str]:
    """`extend T { … }` blocks for extensions[start:stop], one per run with the same extendee."""
    lines: list[str] = []
    current = None
    for i in range(start, len(extensions) if stop is None else stop):
        ext = extensions[i]
        if ext.extendee != current:
            if current is not None:
                lines.append(f"{indent}}}")
            current = ext.extendee
            lines.append(f"{indent}extend {ext.extendee} {{")
        lines.extend(field_lines(src, ext, (*path, i), indent + INDENT, scope, None, False, siblings))
    if current is not None:
        lines.append(f"{indent}}}")
    return lines


def enum(src: Source, e: pb.EnumDescriptorProto, path: SourcePath, indent: str, scope: str) -> list[str]:
    """An enum declaration; `scope` is the full name of what encloses it."""
    visibility = _VISIBILITY.get(e.visibility, "")
    lines = [*src.lead(path, indent), f"{indent}{visibility}enum {e.name} {{{src.trail(path)}"]
    inner = indent + INDENT
    lines.extend(src.option_lines(e.options, _join(scope, e.name), inner))
    for i, value in enumerate(e.value):
        vpath = (*path, ENUM_VALUE, i)
        pairs = src.options(value.options, _join(scope, value.name))
        lines.extend(src.lead(vpath, inner))
        lines.extend(
            bracketed_lines(f"{inner}{value.name} = {value.number}", pairs, f";{src.trail(vpath)}", inner)
        )
    ranges = [_range(r.start, r.end, MAX_ENUM_NUMBER) for r in e.reserved_range]
    lines.extend(_reserved(src, ranges, e.reserved_name, inner))
    lines.append(f"{indent}}}")
    return lines


def _range(start: int, end: int, top: int) -> str:
    if start == end:
        return str(start)
    return f"{start} to {'max' if end == top else end}"


def _reserved(src: Source, ranges: list[str], names: Sequence[str], indent: str) -> list[str]:
    lines = []
    if ranges:
        lines.append(f"{indent}reserved {', '.join(ranges)};")
    if names:
        # Editions write reserved names as identifiers, proto2 and proto3 as strings.
        shown = names if src.editions else [f'"{n}"' for n in names]
        lines.append(f"{indent}reserved {', '.join(shown)};")
    return lines
