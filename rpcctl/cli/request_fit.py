"""Why a JSON request does not fit its message, said in words rather than in Python.

protobuf's JSON parser reports some mistakes in its implementation's terms (``invalid literal
for int() with base 10``, ``expected string or bytes-like object, got 'int'``, ``repeated field
tags must be in [] which is …``). These helpers replace such a reason with what the field
expects, read from its descriptor (the proto3 JSON mapping,
https://protobuf.dev/programming-guides/json/), and refuse a request that is not a JSON object.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.protobuf.descriptor import Descriptor, FieldDescriptor

# Message types whose JSON form is not an object (the proto3 JSON mapping's special cases).
NON_OBJECT_JSON = {
    "google.protobuf.Value",
    "google.protobuf.ListValue",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
    "google.protobuf.Any",
    "google.protobuf.Struct",
    *(
        f"google.protobuf.{name}Value"
        for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
    ),
}

# Reasons worded in the parser's terms (or naming no valid value): replaced by what the field expects.
_PYTHONIC = (  # compiled on first use (re caches): only a failed request needs it
    r"invalid literal for|bytes-like object|must be in \[\]|object is not|NoneType|"
    r"Couldn't parse|got '\w+'|\w+Error\b|not iterable|has type|unhashable|object of type|"
    r"Invalid enum value|must be in a dict|does not match format|Failed to parse timestamp|"
    r"Duration must|[Dd]uration is not valid|parse duration|Value out of range"
)
_FIELD_REASON = r"(?P<head>.* for field (?P<path>[\w.]+) of (?P<type>[\w.]+)): (?P<reason>.*)"

_I64, _U64 = "from -9223372036854775808 to 9223372036854775807", "from 0 to 18446744073709551615"
_I32, _U32 = "from -2147483648 to 2147483647", "from 0 to 4294967295"
_SCALARS = {
    "TYPE_DOUBLE": "a number",
    "TYPE_FLOAT": "a number",
    "TYPE_INT64": f"a whole number {_I64} (or a string of digits)",
    "TYPE_UINT64": f"a whole number {_U64} (or a string of digits)",
    "TYPE_SINT64": f"a whole number {_I64} (or a string of digits)",
    "TYPE_FIXED64": f"a whole number {_U64} (or a string of digits)",
    "TYPE_SFIXED64": f"a whole number {_I64} (or a string of digits)",
    "TYPE_INT32": f"a whole number {_I32}",
    "TYPE_SINT32": f"a whole number {_I32}",
    "TYPE_SFIXED32": f"a whole number {_I32}",
    "TYPE_UINT32": f"a whole number {_U32}",
    "TYPE_FIXED32": f"a whole number {_U32}",
    "TYPE_BOOL": "true or false",
    "TYPE_STRING": "a JSON string",
    "TYPE_BYTES": "a base64 string",
}
_MESSAGES = {
    "google.protobuf.Timestamp": 'an RFC 3339 time string such as "2024-05-01T12:00:00Z"',
    "google.protobuf.Duration": 'a duration string such as "1.5s"',
    "google.protobuf.Struct": "a JSON object",
    "google.protobuf.Value": "any JSON value",
    "google.protobuf.ListValue": "a JSON array",
}


def not_an_object(value: Any, message: Descriptor) -> str | None:
    """The error for a request that is not a JSON object (None when it is, or may be)."""
    if isinstance(value, dict) or message.full_name in NON_OBJECT_JSON:
        return None
    kind = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )
    return f"the request ({message.full_name}) must be a JSON object such as {{}}, not {kind}"


def plain_reason(text: str, message: Descriptor) -> str:
    """`text` (an error about a field of `message`) with a Python-worded reason replaced by
    what the field expects; unchanged when the reason is already plain or the field unknown."""
    match = re.fullmatch(_FIELD_REASON, text, re.S)
    if match is None or not re.search(_PYTHONIC, match["reason"]):
        return text
    field = _field_at(message, match["path"].split("."))
    if field is None:
        return text
    return f"{match['head']}: expected {expects(field)}"


def expects(field: FieldDescriptor) -> str:
    """What the proto3 JSON mapping accepts for `field`, in words."""
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        key, value = message.fields_by_name["key"], message.fields_by_name["value"]
        return f"a JSON object, each key {_one(key)} and each value {_one(value)}"
    if _is_repeated(field):
        return f"a JSON array, each item {_one(field)}, e.g. [] or [{_sample(field)}]"
    return _one(field)


def _one(field: FieldDescriptor) -> str:
    if field.enum_type is not None:
        names = [v.name for v in field.enum_type.values]
        shown = ", ".join(names[:8]) + (f" … ({len(names)} names)" if len(names) > 8 else "")
        return f"one of {shown} (or its number)"
    if field.message_type is not None:
        return _MESSAGES.get(field.message_type.full_name, "a JSON object")
    return _SCALARS.get(_type_name(field), "a value")


def _sample(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return "{}"
    type_name = _type_name(field)
    if type_name in ("TYPE_STRING", "TYPE_BYTES") or field.enum_type is not None:
        return '""'
    return "true" if type_name == "TYPE_BOOL" else "1"


def _type_name(field: FieldDescriptor) -> str:
    from google.protobuf.descriptor_pb2 import FieldDescriptorProto

    return str(FieldDescriptorProto.Type.Name(field.type))


def _is_repeated(field: FieldDescriptor) -> bool:
    is_repeated = getattr(field, "is_repeated", None)
    if isinstance(is_repeated, bool):
        return is_repeated
    return bool(field.label == field.LABEL_REPEATED)


def _field_at(message: Descriptor, path: list[str]) -> FieldDescriptor | None:
    """The field a dotted JSON path names (JSON or proto names), through nested messages."""
    field = None
    for part in path:
        if message is None:
            return None
        field = next((f for f in message.fields if part in (f.json_name, f.name)), None)
        if field is None:
            return None
        message = field.message_type
    return field
