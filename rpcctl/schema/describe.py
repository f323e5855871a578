"""Render a file, service, method, message or enum as proto source text (like `grpcurl describe`).

The text is the file as it was written, as far as a descriptor keeps it: every option (standard
and custom), groups, `extend` blocks, extension ranges, reserved ranges and names, proto2 labels,
proto3 `optional` and editions features. Compiled again by protoc, a described file gives the
same FileDescriptorProto, source info aside (https://protobuf.dev/reference/protobuf/proto2-spec/,
.../proto3-spec/, .../edition-2023-spec/).
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf import descriptor_pb2 as pb
from google.protobuf.descriptor import (
    EnumDescriptor,
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)

from rpcctl.errors import SchemaError
from rpcctl.schema.describe_source import (
    FILE_ENUM,
    FILE_EXTENSION,
    FILE_MESSAGE,
    FILE_SERVICE,
    INDENT,
    MSG_ENUM,
    MSG_FIELD,
    MSG_NESTED,
    SERVICE_METHOD,
    Source,
    SourcePath,
)
from rpcctl.schema.describe_types import enum, extend_blocks, field_lines, inline_types, message
from rpcctl.schema.registry import Symbol, file_proto


def _load(file: FileDescriptor) -> Source:
    return Source(file, file_proto(file))


def describe(desc: Symbol) -> str:
    """Proto source text for a service, method, message, enum or field descriptor."""
    if isinstance(desc, FieldDescriptor):
        return _field(desc)
    owner = desc.containing_service if isinstance(desc, MethodDescriptor) else desc
    src = _load(owner.file)
    package = src.proto.package
    parts = _relative(desc.full_name, package)
    if isinstance(desc, ServiceDescriptor | MethodDescriptor):
        index = [s.name for s in src.proto.service].index(parts[0])
        service = src.proto.service[index]
        path: SourcePath = (FILE_SERVICE, index)
        if isinstance(desc, ServiceDescriptor):
            lines = _service(src, service, path, "")
        else:
            m = [m.name for m in service.method].index(parts[1])
            scope = f"{package}.{service.name}" if package else service.name
            lines = _method(src, service.method[m], (*path, SERVICE_METHOD, m), "", scope)
    else:
        lines = _find_type(src, parts, isinstance(desc, EnumDescriptor))
    return "\n".join(lines) + "\n"


def describe_file(file: FileDescriptor) -> str:
    """The whole file as proto source: syntax or edition, package, imports, options, definitions."""
    src = _load(file)
    proto = src.proto
    package = proto.package
    if src.editions:
        lines = [f'edition = "{src.edition_year or pb.Edition.Name(proto.edition)}";']
    else:
        lines = [f'syntax = "{proto.syntax or "proto2"}";']
    lines.append("")
    if package:
        lines += [f"package {package};", ""]
    public, weak = set(proto.public_dependency), set(proto.weak_dependency)
    for i, dep in enumerate(proto.dependency):
        kind = "public " if i in public else "weak " if i in weak else ""
        lines.append(f'import {kind}"{dep}";')
    lines.extend(f'import option "{dep}";' for dep in proto.option_dependency)
    if proto.dependency or proto.option_dependency:
        lines.append("")
    options = src.option_lines(proto.options, package, "")
    if options:
        lines += [*options, ""]
    blocks: list[list[str]] = []
    ext_groups = inline_types(proto.extension, package, proto.message_type)
    extended = 0
    for i, msg in enumerate(proto.message_type):
        if msg.name not in ext_groups:
            blocks.append(message(src, msg, (FILE_MESSAGE, i), "", package))
            continue
        # An extension group's type sits here in declaration order: its `extend` block too.
        stop = ext_groups[msg.name] + 1
        blocks.append(
            extend_blocks(
                src, proto.extension, (FILE_EXTENSION,), "", package, proto.message_type, extended, stop
            )
        )
        extended = max(extended, stop)
    for i, e in enumerate(proto.enum_type):
        blocks.append(enum(src, e, (FILE_ENUM, i), "", package))
    for i, svc in enumerate(proto.service):
        blocks.append(_service(src, svc, (FILE_SERVICE, i), ""))
    extends = extend_blocks(
        src, proto.extension, (FILE_EXTENSION,), "", package, proto.message_type, extended
    )
    if extends:
        blocks.append(extends)
    for block in blocks:
        lines += [*block, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _relative(full_name: str, package: str) -> list[str]:
    name = full_name[len(package) + 1 :] if package else full_name
    return name.split(".")


def _field(desc: FieldDescriptor) -> str:
    """A message's field as its message declares it (a group with its body, a map as map<>)."""
    container = desc.containing_type
    src = _load(container.file)
    path, msg = _message_path(src, _relative(container.full_name, src.proto.package))
    index = [f.name for f in msg.field].index(desc.name)
    in_oneof = msg.field[index].HasField("oneof_index") and not msg.field[index].proto3_optional
    lines = field_lines(
        src, msg.field[index], (*path, MSG_FIELD, index), "", container.full_name, msg, in_oneof
    )
    return "\n".join(lines) + "\n"


def _message_path(src: Source, parts: Sequence[str]) -> tuple[SourcePath, pb.DescriptorProto]:
    """The source path and proto of a (nested) message of a file."""
    messages: Sequence[pb.DescriptorProto] = src.proto.message_type
    path: SourcePath = ()
    tag = FILE_MESSAGE
    for name in parts:
        i = [m.name for m in messages].index(name)
        path = (*path, tag, i)
        found = messages[i]
        messages, tag = found.nested_type, MSG_NESTED
    return path, found


def _find_type(src: Source, parts: Sequence[str], is_enum: bool) -> list[str]:
    messages: Sequence[pb.DescriptorProto] = src.proto.message_type
    enums: Sequence[pb.EnumDescriptorProto] = src.proto.enum_type
    path: SourcePath = ()
    scope = src.proto.package
    msg_tag, enum_tag = FILE_MESSAGE, FILE_ENUM
    for depth, name in enumerate(parts):
        last = depth == len(parts) - 1
        if last and is_enum:
            i = [e.name for e in enums].index(name)
            return enum(src, enums[i], (*path, enum_tag, i), "", scope)
        i = [m.name for m in messages].index(name)
        path = (*path, msg_tag, i)
        if last:
            return message(src, messages[i], path, "", scope)
        scope = f"{scope}.{name}" if scope else name
        messages, enums = messages[i].nested_type, messages[i].enum_type
        msg_tag, enum_tag = MSG_NESTED, MSG_ENUM
    raise SchemaError(f"cannot locate {'.'.join(parts)}")  # pragma: no cover


def _service(src: Source, svc: pb.ServiceDescriptorProto, path: SourcePath, indent: str) -> list[str]:
    package = src.proto.package
    scope = f"{package}.{svc.name}" if package else svc.name
    lines = [*src.lead(path, indent), f"{indent}service {svc.name} {{{src.trail(path)}"]
    lines.extend(src.option_lines(svc.options, scope, indent + INDENT))
    for i, method in enumerate(svc.method):
        lines.extend(_method(src, method, (*path, SERVICE_METHOD, i), indent + INDENT, scope))
    lines.append(f"{indent}}}")
    return lines


def _method(src: Source, m: pb.MethodDescriptorProto, path: SourcePath, indent: str, scope: str) -> list[str]:
    req = ("stream " if m.client_streaming else "") + m.input_type
    resp = ("stream " if m.server_streaming else "") + m.output_type
    head = f"{indent}rpc {m.name}({req}) returns ({resp})"
    options = src.option_lines(m.options, f"{scope}.{m.name}", indent + INDENT)
    lines = src.lead(path, indent)
    if not options:
        # `rpc M(A) returns (B) {}` sets an empty options message; `;` sets none.
        end = " {}" if m.HasField("options") else ";"
        return [*lines, f"{head}{end}{src.trail(path)}"]
    return [*lines, f"{head} {{{src.trail(path)}", *options, f"{indent}}}"]


__all__ = ["describe", "describe_file"]
