"""Deep nesting, long numbers and non-ASCII digits: the parse-error path, never a stray exception."""

from __future__ import annotations

import json

import pytest

from rpcctl import jsonsafe
from rpcctl.errors import ProtocolError
from rpcctl.wire.connect_error import check_connect_error, parse_connect_error, parse_end_stream
from rpcctl.wire.grpc_status import check_status_metadata, status_from_metadata
from rpcctl.wire.metadata import Metadata, clip
from rpcctl.wire.status import Code

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 2000 + "1" + "}" * 2000
LONG_INT = "1" + "0" * 5000


@pytest.mark.parametrize("text", [DEEP, DEEP_OBJECT, f"[{LONG_INT}]", "[" * 201 + "]" * 201])
def test_hostile_json_is_a_decode_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as info:
        jsonsafe.loads(text)
    assert "nested deeper" in info.value.msg or "digits" in info.value.msg


def test_the_depth_error_points_at_the_first_level_too_deep() -> None:
    with pytest.raises(json.JSONDecodeError) as info:
        jsonsafe.loads("[" * 300 + "]" * 300)
    assert info.value.pos == jsonsafe.MAX_DEPTH


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps(["[" * 1000, "{" * 1000])
    assert jsonsafe.loads(text) == ["[" * 1000, "{" * 1000]


def test_depth_at_the_limit_parses() -> None:
    depth = jsonsafe.MAX_DEPTH
    value = jsonsafe.loads("[" * depth + "]" * depth)
    for _ in range(depth - 1):
        value = value[0]
    assert value == []


def test_a_long_number_is_found_after_many_shorter_runs() -> None:
    """The error points at the number past the limit, not inside a shorter run before it (the
    search is anchored after a non-digit, so it no longer restarts inside each run)."""
    shorter = "[" + ",".join(["1" * 4300] * 50) + ","
    text = shorter + "-" + "7" * 5000 + "]"
    with pytest.raises(json.JSONDecodeError) as info:
        jsonsafe.loads(text)
    assert info.value.pos == len(shorter)
    assert "4300 digits" in info.value.msg


def test_bytes_that_are_not_utf8() -> None:
    with pytest.raises(json.JSONDecodeError):
        jsonsafe.loads(b'{"a": "\xff"}')


@pytest.mark.parametrize("body", [DEEP.encode(), f'{{"code": {LONG_INT}}}'.encode()])
def test_parse_connect_error_never_raises_on_hostile_json(body: bytes) -> None:
    err = parse_connect_error(body, 502, "application/json")
    assert err.code is Code.UNAVAILABLE
    assert len(err.message) < 400


def test_unknown_code_echo_is_bounded() -> None:
    body = json.dumps({"code": "x" * 100_000}).encode()
    err = parse_connect_error(body, 400, "application/json")
    assert err.code is Code.INTERNAL
    assert "unknown code" in err.message
    assert len(err.message) < 400


def test_long_connect_message_is_clipped() -> None:
    body = json.dumps({"code": "internal", "message": "m" * 100_000}).encode()
    err = parse_connect_error(body, 500, "application/json")
    assert len(err.message) == 4096
    assert err.message.endswith("…")


def test_check_connect_error_on_deep_json() -> None:
    (problem,) = check_connect_error(DEEP.encode())
    assert problem.startswith("error body is not JSON: nested deeper")


@pytest.mark.parametrize("payload", [DEEP.encode(), f'{{"error": {{"code": {LONG_INT}}}}}'.encode()])
def test_end_stream_hostile_json_is_internal(payload: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_end_stream(payload)
    assert info.value.code is Code.INTERNAL
    assert len(info.value.message) < 400


def _status(value: str) -> Metadata:
    return Metadata.from_wire_pairs([("grpc-status", value), ("grpc-message", "m")])


def test_grpc_status_of_5000_digits() -> None:
    status = status_from_metadata(_status("9" * 5000))
    assert status.code is Code.UNKNOWN
    assert "out of range" in status.message
    assert len(status.message) < 400


def test_grpc_status_with_leading_zeros_is_read() -> None:
    assert status_from_metadata(_status("0" * 5000 + "5")).code is Code.NOT_FOUND


@pytest.mark.parametrize("digit", ["\u0663", "\uff13", "\u09e9"])  # Arabic-Indic, fullwidth, Bengali 3
def test_grpc_status_accepts_ascii_digits_only(digit: str) -> None:
    status = status_from_metadata(_status(digit))
    assert status.code is Code.UNKNOWN
    assert "invalid grpc-status" in status.message


def test_check_status_metadata_on_long_and_foreign_digits() -> None:
    assert check_status_metadata(_status("9" * 5000)) == [f"grpc-status {clip('9' * 5000)} is outside 0-16"]
    assert check_status_metadata(_status("\u0663")) == ["grpc-status '\u0663' is not a number"]


def test_long_grpc_message_is_clipped() -> None:
    md = Metadata.from_wire_pairs([("grpc-status", "13"), ("grpc-message", "x" * 1_000_000)])
    message = status_from_metadata(md).message
    assert len(message) == 4096
    assert message.endswith("…")


@pytest.mark.parametrize("message", [" ", "  lead", "trail ", " both ", "a b"])
def test_grpc_message_spaces_survive_the_header(message: str) -> None:
    # Found by tests/fuzz: receivers strip a field value's outer whitespace (RFC 9113 §8.2.1).
    from rpcctl.errors import Status
    from rpcctl.wire.grpc_status import encode_grpc_message, status_to_metadata

    encoded = encode_grpc_message(message)
    assert encoded == encoded.strip(" ")
    md = Metadata.from_wire_pairs(status_to_metadata(Status(Code.INTERNAL, message)).to_wire_pairs())
    assert status_from_metadata(md).message == message


@pytest.mark.parametrize("value", ["\u0663S", "\uff13S", "1\u0663m"])
def test_grpc_timeout_takes_ascii_digits_only(value: str) -> None:
    from rpcctl.errors import RpcError
    from rpcctl.wire.timeout import parse_grpc_timeout

    with pytest.raises(RpcError) as info:
        parse_grpc_timeout(value)
    assert info.value.code is Code.INVALID_ARGUMENT


@pytest.mark.parametrize("value", ["\u0663\u0660\u0660", "\uff11"])
def test_connect_timeout_takes_ascii_digits_only(value: str) -> None:
    from rpcctl.errors import RpcError
    from rpcctl.wire.timeout import parse_connect_timeout

    with pytest.raises(RpcError) as info:
        parse_connect_timeout(value)
    assert info.value.code is Code.INVALID_ARGUMENT
