"""Default values of fields with explicit presence (proto2 `optional`, `[default = …]`) in JSON.

The proto3 JSON mapping leaves out every unset field with presence, even with
`always_print_fields_with_no_presence`; a reader of such a message sees the field's default,
so `--emit-defaults` shows that value as grpcurl does
(https://protobuf.dev/programming-guides/proto2/#optional, .../json/#json-options).
"""

from __future__ import annotations

import base64
import math
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from rpcctl.schema.template import STRING_NUMBERS

_F = FieldDescriptor


def add_presence_defaults(message: Message, value: Any) -> Any:
    """Fill `value` (the message's proto3 JSON object) with the default of every unset field
    that has explicit presence, at any depth; returns `value`. Oneof members (proto3 `optional`
    included), repeated fields, maps and messages that are not set stay out."""
    if not isinstance(value, dict):
        return value  # a well-known type with its own JSON form
    for field in message.DESCRIPTOR.fields:
        if field.is_repeated:
            _into_repeated(message, field, value)
            continue
        if field.message_type is not None:
            if message.HasField(field.name) and field.json_name in value:
                add_presence_defaults(getattr(message, field.name), value[field.json_name])
            continue
        if field.containing_oneof is not None or not field.has_presence or message.HasField(field.name):
            continue
        value.setdefault(field.json_name, _json(field, getattr(message, field.name)))
    for field, set_value in message.ListFields():
        if field.is_extension and field.message_type is not None:
            shown = value.get(f"[{field.full_name}]")
            if field.is_repeated and isinstance(shown, list):
                for item, item_value in zip(set_value, shown, strict=False):
                    add_presence_defaults(item, item_value)
            elif not field.is_repeated:
                add_presence_defaults(set_value, shown)
    return value


def _into_repeated(message: Message, field: FieldDescriptor, value: dict[str, Any]) -> None:
    if field.message_type is None or field.message_type.GetOptions().map_entry:
        return
    shown = value.get(field.json_name)
    if isinstance(shown, list):
        for item, item_value in zip(getattr(message, field.name), shown, strict=False):
            add_presence_defaults(item, item_value)


def _json(field: FieldDescriptor, default: Any) -> Any:
    kind = field.type
    if kind == _F.TYPE_ENUM:
        found = field.enum_type.values_by_number.get(default)
        return found.name if found is not None else default
    if kind in STRING_NUMBERS:
        return str(default)
    if kind == _F.TYPE_BYTES:
        return base64.b64encode(default).decode()
    if kind in (_F.TYPE_FLOAT, _F.TYPE_DOUBLE) and not math.isfinite(default):
        return "NaN" if math.isnan(default) else ("Infinity" if default > 0 else "-Infinity")
    return default
