"""Render a service, method, message or enum as proto source text (like `grpcurl describe`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf import descriptor_pb2 as pb
from google.protobuf.descriptor import (
    EnumDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)

from rpcctl.errors import SchemaError
from rpcctl.schema.registry import Symbol, file_proto

INDENT = "  "

# Field numbers of FileDescriptorProto and friends, as used in SourceCodeInfo paths.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MSG_FIELD, _MSG_NESTED, _MSG_ENUM, _MSG_ONEOF = 2, 3, 4, 8
_ENUM_VALUE, _SERVICE_METHOD = 2, 2

_F = pb.FieldDescriptorProto
SourcePath = tuple[int, ...]


@dataclass(frozen=True)
class _File:
    """One file's proto with an index of its comments by source path."""

    proto: pb.FileDescriptorProto
    comments: dict[SourcePath, pb.SourceCodeInfo.Location]

    def lead(self, path: SourcePath, indent: str) -> list[str]:
        loc = self.comments.get(path)
        if loc is None or not loc.HasField("leading_comments"):
            return []
        return [f"{indent}//{line}".rstrip() for line in _comment_lines(loc.leading_comments)]

    def trail(self, path: SourcePath) -> str:
        loc = self.comments.get(path)
        if loc is None or not loc.HasField("trailing_comments"):
            return ""
        text = " ".join(line.strip() for line in _comment_lines(loc.trailing_comments))
        return f" // {text}" if text else ""


def _comment_lines(text: str) -> list[str]:
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


def _load(desc: Symbol) -> _File:
    owner = desc.containing_service if isinstance(desc, MethodDescriptor) else desc
    proto = file_proto(owner.file)
    comments = {tuple(loc.path): loc for loc in proto.source_code_info.location}
    return _File(proto, comments)


def describe(desc: Symbol) -> str:
    """Proto source text for a service, method, message or enum descriptor."""
    file = _load(desc)
    parts = _relative(desc.full_name, file.proto.package)
    if isinstance(desc, ServiceDescriptor | MethodDescriptor):
        index = [s.name for s in file.proto.service].index(parts[0])
        service = file.proto.service[index]
        path: SourcePath = (_FILE_SERVICE, index)
        if isinstance(desc, ServiceDescriptor):
            lines = _service(file, service, path)
        else:
            m = [m.name for m in service.method].index(parts[1])
            lines = _method(file, service.method[m], (*path, _SERVICE_METHOD, m), "")
    else:
        lines = _find_type(file, parts, isinstance(desc, EnumDescriptor))
    return "\n".join(lines) + "\n"


def _relative(full_name: str, package: str) -> list[str]:
    name = full_name[len(package) + 1 :] if package else full_name
    return name.split(".")


def _find_type(file: _File, parts: Sequence[str], is_enum: bool) -> list[str]:
    messages: Sequence[pb.DescriptorProto] = file.proto.message_type
    enums: Sequence[pb.EnumDescriptorProto] = file.proto.enum_type
    path: SourcePath = ()
    msg_tag, enum_tag = _FILE_MESSAGE, _FILE_ENUM
    for depth, name in enumerate(parts):
        last = depth == len(parts) - 1
        if last and is_enum:
            i = [e.name for e in enums].index(name)
            return _enum(file, enums[i], (*path, enum_tag, i), "")
        i = [m.name for m in messages].index(name)
        path = (*path, msg_tag, i)
        if last:
            return _message(file, messages[i], path, "")
        messages, enums = messages[i].nested_type, messages[i].enum_type
        msg_tag, enum_tag = _MSG_NESTED, _MSG_ENUM
    raise SchemaError(f"cannot locate {'.'.join(parts)}")  # pragma: no cover


def _service(file: _File, svc: pb.ServiceDescriptorProto, path: SourcePath) -> list[str]:
    lines = [*file.lead(path, ""), f"service {svc.name} {{{file.trail(path)}"]
    if svc.options.deprecated:
        lines.append(f"{INDENT}option deprecated = true;")
    for i, method in enumerate(svc.method):
        lines.extend(_method(file, method, (*path, _SERVICE_METHOD, i), INDENT))
    lines.append("}")
    return lines


def _method(file: _File, m: pb.MethodDescriptorProto, path: SourcePath, indent: str) -> list[str]:
    req = ("stream " if m.client_streaming else "") + m.input_type
    resp = ("stream " if m.server_streaming else "") + m.output_type
    head = f"{indent}rpc {m.name}({req}) returns ({resp})"
    options = []
    if m.options.deprecated:
        options.append("deprecated = true")
    if m.options.idempotency_level:
        level = pb.MethodOptions.IdempotencyLevel.Name(m.options.idempotency_level)
        options.append(f"idempotency_level = {level}")
    lines = file.lead(path, indent)
    if not options:
        return [*lines, f"{head};{file.trail(path)}"]
    lines.append(f"{head} {{{file.trail(path)}")
    lines.extend(f"{indent}{INDENT}option {opt};" for opt in options)
    lines.append(f"{indent}}}")
    return lines


def _enum(file: _File, e: pb.EnumDescriptorProto, path: SourcePath, indent: str) -> list[str]:
    lines = [*file.lead(path, indent), f"{indent}enum {e.name} {{{file.trail(path)}"]
    inner = indent + INDENT
    if e.options.allow_alias:
        lines.append(f"{inner}option allow_alias = true;")
    if e.options.deprecated:
        lines.append(f"{inner}option deprecated = true;")
    for i, value in enumerate(e.value):
        vpath = (*path, _ENUM_VALUE, i)
        opt = " [deprecated = true]" if value.options.deprecated else ""
        lines.extend(file.lead(vpath, inner))
        lines.append(f"{inner}{value.name} = {value.number}{opt};{file.trail(vpath)}")
    lines.extend(_reserved(e.reserved_range, e.reserved_name, inner, exclusive_end=False))
    lines.append(f"{indent}}}")
    return lines


def _message(file: _File, msg: pb.DescriptorProto, path: SourcePath, indent: str) -> list[str]:
    lines = [*file.lead(path, indent), f"{indent}message {msg.name} {{{file.trail(path)}"]
    inner = indent + INDENT
    if msg.options.deprecated:
        lines.append(f"{inner}option deprecated = true;")
    entries = {n.name: n for n in msg.nested_type if n.options.map_entry}
    # A oneof that holds only a proto3 `optional` field is synthetic: not written as a oneof.
    real_oneofs = {f.oneof_index for f in msg.field if f.HasField("oneof_index") and not f.proto3_optional}
    done_oneofs: set[int] = set()
    for i, field in enumerate(msg.field):
        fpath = (*path, _MSG_FIELD, i)
        if field.HasField("oneof_index") and field.oneof_index in real_oneofs:
            index = field.oneof_index
            if index in done_oneofs:
                continue
            done_oneofs.add(index)
            opath = (*path, _MSG_ONEOF, index)
            lines.extend(file.lead(opath, inner))
            lines.append(f"{inner}oneof {msg.oneof_decl[index].name} {{{file.trail(opath)}")
            for j, member in enumerate(msg.field):
                if member.HasField("oneof_index") and member.oneof_index == index:
                    mpath = (*path, _MSG_FIELD, j)
                    lines.extend(file.lead(mpath, inner + INDENT))
                    text = _field(file.proto.syntax, member, entries, in_oneof=True)
                    lines.append(f"{inner}{INDENT}{text}{file.trail(mpath)}")
            lines.append(f"{inner}}}")
            continue
        lines.extend(file.lead(fpath, inner))
        text = _field(file.proto.syntax, field, entries, in_oneof=False)
        lines.append(f"{inner}{text}{file.trail(fpath)}")
    for i, nested in enumerate(msg.nested_type):
        if not nested.options.map_entry:
            lines.extend(_message(file, nested, (*path, _MSG_NESTED, i), inner))
    for i, nested_enum in enumerate(msg.enum_type):
        lines.extend(_enum(file, nested_enum, (*path, _MSG_ENUM, i), inner))
    for ext in msg.extension_range:
        lines.append(f"{inner}extensions {_range(ext.start, ext.end - 1)};")
    lines.extend(_reserved(msg.reserved_range, msg.reserved_name, inner, exclusive_end=True))
    lines.append(f"{indent}}}")
    return lines


def _field(
    syntax: str,
    field: pb.FieldDescriptorProto,
    entries: dict[str, pb.DescriptorProto],
    in_oneof: bool,
) -> str:
    entry = entries.get(field.type_name.rsplit(".", 1)[-1]) if field.type_name else None
    if entry is not None and field.label == _F.LABEL_REPEATED:
        key, value = entry.field[0], entry.field[1]
        kind = f"map<{_type(key)}, {_type(value)}>"
        label = ""
    else:
        kind = _type(field)
        label = _label(syntax, field, in_oneof)
    options = []
    if field.HasField("default_value"):
        options.append(f"default = {_default(field)}")
    if field.options.HasField("packed"):
        options.append(f"packed = {str(field.options.packed).lower()}")
    if field.options.deprecated:
        options.append("deprecated = true")
    suffix = f" [{', '.join(options)}]" if options else ""
    return f"{label}{kind} {field.name} = {field.number}{suffix};"


def _label(syntax: str, field: pb.FieldDescriptorProto, in_oneof: bool) -> str:
    if field.label == _F.LABEL_REPEATED:
        return "repeated "
    if field.label == _F.LABEL_REQUIRED:
        return "required "
    if in_oneof or syntax == "editions":
        return ""
    if field.proto3_optional or syntax in ("", "proto2"):
        return "optional "
    return ""


def _type(field: pb.FieldDescriptorProto) -> str:
    if field.type in (_F.TYPE_MESSAGE, _F.TYPE_ENUM, _F.TYPE_GROUP):
        return field.type_name
    return _F.Type.Name(field.type)[len("TYPE_") :].lower()


def _default(field: pb.FieldDescriptorProto) -> str:
    if field.type == _F.TYPE_STRING:
        return json.dumps(field.default_value)
    if field.type == _F.TYPE_BYTES:
        # protoc stores bytes defaults C-escaped already.
        return f'"{field.default_value}"'
    return field.default_value


def _range(start: int, end: int) -> str:
    if start == end:
        return str(start)
    return f"{start} to {'max' if end >= 536870911 else end}"


def _reserved(
    ranges: Sequence[pb.DescriptorProto.ReservedRange | pb.EnumDescriptorProto.EnumReservedRange],
    names: Sequence[str],
    indent: str,
    exclusive_end: bool,
) -> list[str]:
    lines = []
    if ranges:
        shown = ", ".join(_range(r.start, r.end - 1 if exclusive_end else r.end) for r in ranges)
        lines.append(f"{indent}reserved {shown};")
    if names:
        lines.append(f"{indent}reserved {', '.join(json.dumps(n) for n in names)};")
    return lines


__all__ = ["describe"]
