"""A peer's own StringValue that looks like one of rpcctl's stand-ins for an `Any` (anys.py,
json_anys.py) is printed as the string it is: no traceback, no swapped-in data."""

from __future__ import annotations

import pytest
from google.protobuf import wrappers_pb2
from google.rpc import status_pb2

from rpcctl.schema.anys import message_to_dict
from rpcctl.schema.json_anys import text_with_json_anys

LOOKALIKES = [
    "\x00rpcctl-unresolved-any-x",
    "\x00rpcctl-unresolved-any-0",
    "\x00rpcctl-json-any:not json",
    "\x00rpcctl-json-any:[1]",
    "\x00rpcctl-json-text-7",
]


def _status(text: str) -> status_pb2.Status:
    status = status_pb2.Status(code=3)
    status.details.add().Pack(wrappers_pb2.StringValue(value=text))
    status.details.add(type_url="type.googleapis.com/foo.Unknown", value=b"\x08\x01")
    return status


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalike_stand_in_is_printed_as_sent(text: str) -> None:
    rendered, urls = message_to_dict(_status(text), False, None)
    assert rendered["details"][0] == {
        "@type": "type.googleapis.com/google.protobuf.StringValue",
        "value": text,
    }
    assert rendered["details"][1]["@type"] == "type.googleapis.com/foo.Unknown"
    assert urls == ["type.googleapis.com/foo.Unknown"]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalike_stand_in_in_text_format(text: str) -> None:
    status = status_pb2.Status(code=3)
    status.details.add().Pack(wrappers_pb2.StringValue(value=text))
    assert "rpcctl-" in text_with_json_anys(status, None)


def test_lookalike_next_to_a_real_json_stand_in_in_text_format() -> None:
    from rpcctl.schema.json_anys import MARK_PREFIX, MARK_URL

    status = status_pb2.Status(code=3)
    status.details.add().Pack(wrappers_pb2.StringValue(value="\x00rpcctl-json-text-0"))
    real = wrappers_pb2.StringValue(value=MARK_PREFIX + '{"@type":"type.googleapis.com/foo.U","a":1}')
    status.details.add(type_url=MARK_URL, value=real.SerializeToString())
    text = text_with_json_anys(status, None)
    assert text.count("# received as JSON") == 1
    assert 'value: "\\000rpcctl-json-text-0"' in text
