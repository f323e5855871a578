"""`Any` values received as JSON whose type nobody can describe: kept as they came.

Over a JSON codec an `Any` is `{"@type": url, ...the packed message's fields}` (proto3 JSON
mapping, protobuf.dev/programming-guides/json, "Any"). Without the packed type's descriptor it
cannot become a message, and there are no bytes to show as `"@value"` either. connect-go and
connect-es fail the whole answer then; rpcctl keeps the rest of the message and shows that
object as received, unchecked, and says so once on stderr.

While the message is a protobuf object, each such object travels in a stand-in: an `Any`
holding a `google.protobuf.StringValue` whose value is a marker followed by the object's JSON
text. Rendering puts the object back (`unmark_json`, `text_with_json_anys`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rpcctl.schema.anys import MARK_TYPE, MARK_URL, STAND_IN_NONCE, find_type, replace_stand_ins

if TYPE_CHECKING:
    from google.protobuf.descriptor_pool import DescriptorPool
    from google.protobuf.message import Message

MARK_PREFIX = f"\x00rpcctl-json-any-{STAND_IN_NONCE}:"
_MARK_BYTES = MARK_PREFIX.encode()
# How text format shows a stand-in's value (octal escapes for the marker's NUL); `re` compiles
# it when text format is printed, not at every start.
_TEXT_LINE = rf'^(?P<indent>\s*)value: "\\000rpcctl-json-text-{STAND_IN_NONCE}-(?P<n>\d+)"$'
_TEXT_PREFIX = f"\x00rpcctl-json-text-{STAND_IN_NONCE}-".encode()


def mark_json(value: Any, known: Callable[[str], bool]) -> tuple[Any, list[str]]:
    """`value` (a JSON message) with every object whose `"@type"` is not `known` replaced by a
    stand-in; the type URLs replaced. `known` takes a type URL."""
    urls: list[str] = []

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        url = node.get("@type")
        if isinstance(url, str) and not known(url):
            urls.append(url)
            text = json.dumps(node, separators=(",", ":"), ensure_ascii=False)
            return {"@type": MARK_URL, "value": MARK_PREFIX + text}
        return {key: walk(item) for key, item in node.items()}

    return walk(value), list(dict.fromkeys(urls))


def ensure_mark_type(pool: DescriptorPool | None) -> None:
    """Add google/protobuf/wrappers.proto to `pool` if it lacks the stand-ins' type."""
    if pool is None or find_type(pool, MARK_TYPE) is not None:
        return
    from rpcctl.schema.registry import runtime_file

    wrappers = runtime_file("google/protobuf/wrappers.proto")
    if wrappers is not None:
        pool.Add(wrappers)


def carries_json(message: Message) -> bool:
    """True if a message holds a stand-in (at any depth)."""
    return _MARK_BYTES in message.SerializeToString()


def unmark_json(value: Any, urls: list[str]) -> Any:
    """A rendered JSON value with each stand-in replaced by the object it carries; the type
    URLs of those objects are appended to `urls`."""
    from rpcctl import jsonsafe

    def restore(text: str) -> Any:
        restored = jsonsafe.loads(text)
        urls.append(restored.get("@type", ""))
        return restored

    return replace_stand_ins(value, MARK_PREFIX, restore)


def text_with_json_anys(message: Message, pool: DescriptorPool | None) -> str:
    """Protobuf text format of a message; each stand-in shows as its type URL and a comment
    holding the JSON object received (text format has no other place for it)."""
    from google.protobuf import text_format

    if not carries_json(message):
        return text_format.MessageToString(message, descriptor_pool=pool)
    copy = type(message)()
    copy.CopyFrom(message)
    objects: list[str] = []
    _to_text_stand_ins(copy, pool, objects)
    text = text_format.MessageToString(copy, descriptor_pool=pool)

    def comment(match: re.Match[str]) -> str:
        return f"{match['indent']}# received as JSON, no schema describes it: {objects[int(match['n'])]}"

    return re.sub(_TEXT_LINE, comment, text, flags=re.MULTILINE)


def _to_text_stand_ins(message: Message, pool: DescriptorPool | None, objects: list[str]) -> bool:
    """Turn each stand-in into an Any of the original URL whose value names its object."""
    from rpcctl.schema.anys import any_values, unpack

    changed = False
    for packed in list(any_values(message)):
        inner = unpack(packed, pool)
        if inner is None:
            continue
        text = getattr(inner, "value", None) if packed.type_url == MARK_URL else None
        if isinstance(text, str) and text.startswith(MARK_PREFIX):
            body = text[len(MARK_PREFIX) :]
            from rpcctl import jsonsafe

            url = jsonsafe.loads(body).get("@type", "")
            packed.type_url = url
            packed.value = _TEXT_PREFIX + str(len(objects)).encode()
            objects.append(body)
            changed = True
        elif _to_text_stand_ins(inner, pool, objects):
            packed.value = inner.SerializeToString()
            changed = True
    return changed
