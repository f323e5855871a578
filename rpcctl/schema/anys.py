"""`google.protobuf.Any` values inside messages: finding them, and JSON for those nobody can describe.

The proto3 JSON mapping (protobuf.dev/programming-guides/json, "Any") needs the packed type's
descriptor. When the pool lacks it, the `Any` is printed the way grpcurl prints it,
`{"@type": url, "@value": "<base64 of the packed bytes>"}`, and the rest of the message as usual.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.protobuf.descriptor import Descriptor
    from google.protobuf.descriptor_pool import DescriptorPool
    from google.protobuf.message import Message

ANY_TYPE = "google.protobuf.Any"
# Walking a hostile answer stops after this many messages: Anys can nest Anys.
MAX_MESSAGES = 100_000
# Stand-ins for unknown Anys while the rest is rendered: a StringValue carrying a marker.
MARK_TYPE = "google.protobuf.StringValue"
MARK_URL = "type.googleapis.com/" + MARK_TYPE
# Random per process, so a peer's own StringValue cannot pass for a stand-in (it is never printed).
STAND_IN_NONCE = os.urandom(8).hex()  # not `secrets`: it imports hashlib on every call's path
_MARK_PREFIX = f"\x00rpcctl-unresolved-any-{STAND_IN_NONCE}-"


def type_name(type_url: str) -> str:
    """The message name of a type URL: what follows its last '/'."""
    return type_url.rsplit("/", 1)[-1]


def any_values(message: Message) -> Iterator[Message]:
    """Every `Any` in a message (singular, repeated and map values), not looking inside them."""
    stack = [message]
    seen = 0
    while stack:
        current = stack.pop()
        seen += 1
        if seen > MAX_MESSAGES:
            return
        for field, value in current.ListFields():
            entry = field.message_type
            if entry is None:
                continue
            if entry.GetOptions().map_entry:
                if entry.fields_by_name["value"].message_type is None:
                    continue
                children = list(value.values())
            elif field.is_repeated:
                children = list(value)
            else:
                children = [value]
            for child in children:
                if child.DESCRIPTOR.full_name == ANY_TYPE:
                    yield child
                else:
                    stack.append(child)


def find_type(pool: DescriptorPool | None, name: str) -> Descriptor | None:
    """A message type of the pool (the default pool when None), or None."""
    from google.protobuf import descriptor_pool

    try:
        return (pool or descriptor_pool.Default()).FindMessageTypeByName(name)
    except KeyError:
        return None


def unpack(packed: Message, pool: DescriptorPool | None) -> Message | None:
    """The message an `Any` holds, or None when the pool lacks its type or its bytes are garbage."""
    from google.protobuf import message_factory
    from google.protobuf.message import DecodeError

    desc = find_type(pool, type_name(packed.type_url))
    if desc is None:
        return None
    try:
        return message_factory.GetMessageClass(desc).FromString(packed.value)
    except (DecodeError, ValueError, RuntimeError):
        return None


def message_to_dict(
    message: Message, emit_defaults: bool, pool: DescriptorPool | None
) -> tuple[Any, list[str]]:
    """proto3 JSON of a message and the type URLs of the Anys shown raw (not in the pool):
    as grpcurl's `@value` form, or as the JSON object received (`json_anys`)."""
    from google.protobuf import json_format

    from rpcctl.schema.json_anys import carries_json, ensure_mark_type, unmark_json

    received: list[str] = []
    try:
        rendered = _to_dict(message, emit_defaults, pool)
    except (TypeError, json_format.Error) as exc:
        if "type_url" not in str(exc):
            raise
    else:
        if carries_json(message):
            rendered = unmark_json(rendered, received)
        return rendered, list(dict.fromkeys(received))
    copy = type(message)()
    copy.CopyFrom(message)
    marks: list[tuple[str, bytes]] = []
    _mark_unknown(copy, pool, marks)
    if marks:
        ensure_mark_type(pool)
    rendered = _unmark(_to_dict(copy, emit_defaults, pool), marks)
    if carries_json(message):
        rendered = unmark_json(rendered, received)
    return rendered, list(dict.fromkeys([*(url for url, _ in marks), *received]))


def raw_any(type_url: str, value: bytes) -> dict[str, str]:
    """grpcurl's JSON for an `Any` of an unknown type."""
    return {"@type": type_url, "@value": base64.b64encode(value).decode()}


def _to_dict(message: Message, emit_defaults: bool, pool: DescriptorPool | None) -> Any:
    from google.protobuf import json_format

    # `emit_defaults` is the proto3 JSON mapping's "always emit fields without presence"
    # (protobuf.dev/programming-guides/json, JSON options): 0, "", false, [], {} of fields
    # without presence. Unset fields with presence (proto2 and proto3 `optional`, messages,
    # oneof members) stay out even then: "not set" is not their default value.
    return json_format.MessageToDict(
        message, always_print_fields_with_no_presence=emit_defaults, descriptor_pool=pool
    )


def _mark_unknown(message: Message, pool: DescriptorPool | None, marks: list[tuple[str, bytes]]) -> bool:
    """Replace each unknown `Any` (at any depth) with a marked StringValue; True if any changed."""
    from google.protobuf import wrappers_pb2

    changed = False
    for packed in list(any_values(message)):
        url, value = packed.type_url, packed.value
        inner = unpack(packed, pool)
        if inner is not None:
            if _mark_unknown(inner, pool, marks):
                packed.value = inner.SerializeToString()
                changed = True
            continue
        mark = wrappers_pb2.StringValue(value=f"{_MARK_PREFIX}{len(marks)}")
        marks.append((url, value))
        packed.type_url = MARK_URL
        packed.value = mark.SerializeToString()
        changed = True
    return changed


def _unmark(value: Any, marks: list[tuple[str, bytes]]) -> Any:
    return replace_stand_ins(value, _MARK_PREFIX, lambda rest: raw_any(*marks[int(rest)]))


def replace_stand_ins(value: Any, prefix: str, restore: Callable[[str], Any]) -> Any:
    """Rendered JSON with each stand-in (an Any of a StringValue whose value starts with
    `prefix`) replaced by `restore(the rest of that value)`."""
    if isinstance(value, list):
        return [replace_stand_ins(v, prefix, restore) for v in value]
    if not isinstance(value, dict):
        return value
    mark = value.get("value")
    if value.get("@type") == MARK_URL and isinstance(mark, str) and mark.startswith(prefix):
        return restore(mark[len(prefix) :])
    return {k: replace_stand_ins(v, prefix, restore) for k, v in value.items()}
