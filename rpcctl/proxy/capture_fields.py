"""The types a capture file's header and event lines must have (DESIGN.md §4).

A capture is a file anyone can edit or cut, so the reader checks every field it hands on
before a consumer (replay, tail-logs) trusts it: `header_problem` and `event_problem` name
the first field of the wrong type, or return None. Fields they do not know are not checked
(a later version may add some), and absent fields are left to the consumer's defaults.
"""

from __future__ import annotations

from typing import Any

PAIR_FIELDS = ("headers", "trailers", "response_headers")
TEXT_FIELDS = ("peer", "protocol", "codec", "status", "raw")
NUMBER_FIELDS = ("duration",)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_pairs(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)
        for pair in value
    )


def header_problem(header: dict[str, Any]) -> str | None:
    """What is wrong with a capture header's types (line 1), or None."""
    schema = header.get("schema")
    if schema is not None and not isinstance(schema, str):
        return "schema is not a base64 string or null"
    if "redacted" in header and not isinstance(header["redacted"], bool):
        return "redacted is not true or false"
    return None


def event_problem(obj: dict[str, Any], message_event: bool) -> str | None:
    """What is wrong with the types of one event line's fields, or None.

    ``message_event``: a request or response, whose ``message`` is any proto3 JSON value (a
    wrapper type's is a string or number); elsewhere ``message`` is the status text.
    """
    if not _is_number(obj.get("t")):
        return "t is not a number"
    if not isinstance(obj.get("call"), str | int) or isinstance(obj.get("call"), bool):
        return "call is not a string"
    if "method" in obj and not isinstance(obj["method"], str):
        return "method is not a string"
    for name in PAIR_FIELDS:
        if obj.get(name) is not None and not _is_pairs(obj[name]):
            return f"{name} is not a list of [name, value] string pairs"
    for name in TEXT_FIELDS:
        if obj.get(name) is not None and not isinstance(obj[name], str):
            return f"{name} is not a string"
    for name in NUMBER_FIELDS:
        if obj.get(name) is not None and not _is_number(obj[name]):
            return f"{name} is not a number"
    if "code" in obj and (not isinstance(obj["code"], int) or isinstance(obj["code"], bool)):
        return "code is not an integer"
    if "details" in obj and not isinstance(obj["details"], list):
        return "details is not a list"
    message = obj.get("message")
    if not message_event and message is not None and not isinstance(message, str):
        return "message is not a string"
    return None
