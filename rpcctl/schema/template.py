"""JSON request skeletons: every field of a message, filled with a placeholder of its type
(or its declared proto2 default)."""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

_F = FieldDescriptor

#: Nesting deeper than this is cut short with {} even without recursion.
MAX_DEPTH = 32

# Well-known types have their own proto3 JSON forms.
_WKT: dict[str, Any] = {
    "google.protobuf.Timestamp": "1970-01-01T00:00:00Z",
    "google.protobuf.Duration": "0s",
    "google.protobuf.Struct": {},
    "google.protobuf.Value": None,
    "google.protobuf.ListValue": [],
    # An empty Any is valid proto3 JSON, so the skeleton parses as it is.
    "google.protobuf.Any": {},
    "google.protobuf.FieldMask": "",
    "google.protobuf.Empty": {},
    "google.protobuf.DoubleValue": 0,
    "google.protobuf.FloatValue": 0,
    "google.protobuf.Int64Value": "0",
    "google.protobuf.UInt64Value": "0",
    "google.protobuf.Int32Value": 0,
    "google.protobuf.UInt32Value": 0,
    "google.protobuf.BoolValue": False,
    "google.protobuf.StringValue": "",
    "google.protobuf.BytesValue": "",
}

NULL_VALUE = "google.protobuf.NullValue"

#: 64-bit integer types: proto3 JSON writes them as strings.
STRING_NUMBERS = frozenset({_F.TYPE_INT64, _F.TYPE_UINT64, _F.TYPE_SINT64, _F.TYPE_FIXED64, _F.TYPE_SFIXED64})

# Map keys are JSON strings; these parse back as keys of the map's key type.
_MAP_KEYS = {_F.TYPE_STRING: "key", _F.TYPE_BOOL: "false"}


def request_template(desc: Descriptor) -> Any:
    """A proto3 JSON skeleton of a message (camelCase names); recursion stops at {}.

    An object, except for well-known types with their own JSON form (a Duration is "0s").
    Of a oneof, only the first member is included, so the skeleton stays parseable; where
    recursion stops, proto2 `required` fields are kept so the skeleton still encodes.
    `google.protobuf.NullValue` is null (https://protobuf.dev/programming-guides/json/).
    """
    return _message(desc, ())


def _message(desc: Descriptor, stack: tuple[str, ...]) -> Any:
    if desc.full_name in _WKT:
        value = _WKT[desc.full_name]
        return dict(value) if isinstance(value, dict) else value
    if desc.full_name in stack or len(stack) >= MAX_DEPTH:
        return _required_only(desc, stack)
    stack = (*stack, desc.full_name)
    out: dict[str, Any] = {}
    seen_oneofs: set[str] = set()
    for field in desc.fields:
        oneof = field.containing_oneof
        # proto3 `optional` fields live in a synthetic one-member oneof: keep them all.
        if oneof is not None and len(oneof.fields) > 1:
            if oneof.full_name in seen_oneofs:
                continue
            seen_oneofs.add(oneof.full_name)
        out[field.json_name] = _field(field, stack)
    return out


def _required_only(desc: Descriptor, stack: tuple[str, ...]) -> dict[str, Any]:
    """Where recursion stops: {} plus the proto2 `required` fields, so the message still encodes."""
    out: dict[str, Any] = {}
    if len(stack) >= 2 * MAX_DEPTH:
        return out
    stack = (*stack, desc.full_name)
    for field in desc.fields:
        if _is_required(field):
            kind = field.type
            if kind in (_F.TYPE_MESSAGE, _F.TYPE_GROUP):
                out[field.json_name] = _required_only(field.message_type, stack)
            else:
                out[field.json_name] = _single(field, stack)
    return out


def _is_required(field: FieldDescriptor) -> bool:
    # protobuf 6 has `is_required` and dropped `label`; 5.x has only `label`.
    required = getattr(field, "is_required", None)
    if required is not None:
        return bool(required)
    return getattr(field, "label", None) == _F.LABEL_REQUIRED


def _is_map(field: FieldDescriptor) -> bool:
    msg = field.message_type
    return bool(field.is_repeated and msg is not None and msg.GetOptions().map_entry)


def _field(field: FieldDescriptor, stack: tuple[str, ...]) -> Any:
    if _is_map(field):
        key_field = field.message_type.fields_by_name["key"]
        value_field = field.message_type.fields_by_name["value"]
        key = _MAP_KEYS.get(key_field.type, "0")
        return {key: _single(value_field, stack)}
    if field.is_repeated:
        return [_single(field, stack)]
    return _single(field, stack)


def _single(field: FieldDescriptor, stack: tuple[str, ...]) -> Any:
    kind = field.type
    if kind in (_F.TYPE_MESSAGE, _F.TYPE_GROUP):
        return _message(field.message_type, stack)
    if field.has_default_value:
        return _declared_default(field)
    if kind == _F.TYPE_ENUM:
        if field.enum_type.full_name == NULL_VALUE:
            return None  # proto3 JSON writes google.protobuf.NullValue as null
        return field.enum_type.values[0].name
    if kind in STRING_NUMBERS:
        return "0"
    if kind in (_F.TYPE_STRING, _F.TYPE_BYTES):
        return ""
    if kind == _F.TYPE_BOOL:
        return False
    return 0


def _declared_default(field: FieldDescriptor) -> Any:
    """A proto2 `[default = …]` in proto3 JSON form: sent as it is, it means what leaving the
    field out means (https://protobuf.dev/programming-guides/proto2/#optional)."""
    value = field.default_value
    kind = field.type
    if kind == _F.TYPE_ENUM:
        found = field.enum_type.values_by_number.get(value)
        return found.name if found is not None else value
    if kind in STRING_NUMBERS:
        return str(value)
    if kind == _F.TYPE_BYTES:
        return base64.b64encode(value).decode()
    if kind in (_F.TYPE_FLOAT, _F.TYPE_DOUBLE) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if kind == _F.TYPE_FLOAT:
        return _shortest_float32(value)
    return value


def _shortest_float32(value: float) -> float:
    """The shortest decimal that is the same 32-bit float (1e+20, not 1.0000000200408773e+20)."""
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.unpack("<f", struct.pack("<f", candidate))[0] == value:
            return candidate
    return value
