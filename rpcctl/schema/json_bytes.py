"""base64 in a JSON message, checked: protobuf's Python parser drops characters it cannot
decode ("!!" becomes empty bytes), so a typo would be sent as other bytes, silently.

The proto3 JSON mapping (protobuf.dev/programming-guides/json, "bytes") accepts standard or
URL-safe base64, with or without padding; anything else is named as bad input, with its path.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.protobuf.descriptor import Descriptor, FieldDescriptor
    from google.protobuf.descriptor_pool import DescriptorPool

BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_BYTES_VALUE = "google.protobuf.BytesValue"
_ANY = "google.protobuf.Any"
Found = tuple[str, Any] | None  # (path, value) of a bad one


def is_base64(text: str) -> bool:
    """True if `text` is standard or URL-safe base64, padded or not."""
    if not BASE64.fullmatch(text):
        return False
    body = text.rstrip("=")
    if len(body) % 4 == 1:
        return False
    return len(text) == len(body) or len(text) % 4 == 0


def bad_bytes(value: Any, desc: Descriptor, pool: DescriptorPool | None, path: str = "") -> Found:
    """The path and value of the first bytes field of a JSON message that is not base64, or None.

    Walks fields (by JSON or proto name), lists, map values, BytesValue and the Anys whose type
    `pool` knows; other values are protobuf's parser's business.
    """
    if not isinstance(value, dict):
        return None
    if desc.full_name == _ANY:
        return _in_any(value, pool, path)
    fields: dict[str, FieldDescriptor] = {}
    for field in desc.fields:
        fields[field.name] = field
        fields[field.json_name] = field
    for key, item in value.items():
        field = fields.get(key)
        if field is None:
            continue
        where = f"{path}.{key}" if path else key
        found = _in_field(field, item, pool, where)
        if found is not None:
            return found
    return None


def _in_any(value: dict[str, Any], pool: DescriptorPool | None, path: str) -> Found:
    from rpcctl.schema.anys import find_type, type_name

    url = value.get("@type")
    inner = find_type(pool, type_name(url)) if isinstance(url, str) else None
    if inner is None:
        return None
    if inner.full_name == _BYTES_VALUE:
        return _not_base64(value.get("value"), f"{path}.value")
    return bad_bytes({k: v for k, v in value.items() if k != "@type"}, inner, pool, path)


def _in_field(field: FieldDescriptor, item: Any, pool: DescriptorPool | None, where: str) -> Found:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        if not isinstance(item, dict):
            return None
        value_field = entry.fields_by_name["value"]
        for key, each in item.items():
            found = _single(value_field, each, pool, f"{where}.{key}")
            if found is not None:
                return found
        return None
    if field.is_repeated:
        if not isinstance(item, list):
            return None
        for index, each in enumerate(item):
            found = _single(field, each, pool, f"{where}[{index}]")
            if found is not None:
                return found
        return None
    return _single(field, item, pool, where)


def _single(field: FieldDescriptor, item: Any, pool: DescriptorPool | None, where: str) -> Found:
    from google.protobuf.descriptor import FieldDescriptor

    if field.type == FieldDescriptor.TYPE_BYTES:
        return _not_base64(item, where)
    message = field.message_type
    if message is None:
        return None
    if message.full_name == _BYTES_VALUE:
        return _not_base64(item, where)
    return bad_bytes(item, message, pool, where)


def _not_base64(item: Any, where: str) -> Found:
    return (where, item) if isinstance(item, str) and not is_base64(item) else None


def may_hold_bytes(desc: Descriptor) -> bool:
    """True if a message of `desc` can hold bytes in its JSON: a bytes field, a BytesValue or an
    Any (whose packed type may), at any depth."""
    from google.protobuf.descriptor import FieldDescriptor

    seen: set[str] = set()
    stack = [desc]
    while stack:
        current = stack.pop()
        if current.full_name in (_BYTES_VALUE, _ANY):
            return True
        if current.full_name in seen:
            continue
        seen.add(current.full_name)
        for field in current.fields:
            if field.type == FieldDescriptor.TYPE_BYTES:
                return True
            if field.message_type is not None:
                stack.append(field.message_type)
    return False
