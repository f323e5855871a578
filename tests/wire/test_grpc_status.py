"""grpc-message percent coding, grpc-status-details-bin and the client status decision."""

from __future__ import annotations

import base64

import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from rpcctl.errors import ProtocolError, Status
from rpcctl.wire.error_detail import ErrorDetail
from rpcctl.wire.grpc_status import (
    check_status_metadata,
    decode_grpc_message,
    decode_status_details,
    encode_grpc_message,
    encode_status_details,
    status_from_metadata,
    status_to_metadata,
)
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

UNICODE_MESSAGE = "\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\n"
UNICODE_ENCODED = "%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%0A"


def _any(msg: error_details_pb2.ErrorInfo | error_details_pb2.BadRequest) -> ErrorDetail:
    packed = any_pb2.Any()
    packed.Pack(msg)
    return ErrorDetail(packed.type_url, packed.value)


ERROR_INFO = _any(error_details_pb2.ErrorInfo(reason="QUOTA", domain="x.example", metadata={"k": "v"}))
BAD_REQUEST = _any(
    error_details_pb2.BadRequest(
        field_violations=[error_details_pb2.BadRequest.FieldViolation(field="name", description="empty")]
    )
)


def _wire(*pairs: tuple[str, str]) -> Metadata:
    return Metadata.from_wire_pairs(pairs)


@pytest.mark.parametrize(
    "message,encoded",
    [
        ("100% done", "100%25 done"),
        (UNICODE_MESSAGE, UNICODE_ENCODED),
        ("plain ~ text", "plain ~ text"),
        ("", ""),
        ("a\x7fb", "a%7Fb"),
        ("+", "+"),
    ],
)
def test_grpc_message_encoding(message: str, encoded: str) -> None:
    assert encode_grpc_message(message) == encoded
    assert decode_grpc_message(encoded) == message


def test_encoded_message_cannot_inject() -> None:
    encoded = encode_grpc_message("x\r\ngrpc-status: 0")
    assert "\r" not in encoded and "\n" not in encoded


@pytest.mark.parametrize(
    "raw,decoded",
    [
        ("100%", "100%"),
        ("%zz and %4", "%zz and %4"),
        ("%FF%FE", "\ufffd\ufffd"),
        ("caf%C3", "caf\ufffd"),
        ("a+b", "a+b"),
        ("already ☺", "already ☺"),
    ],
)
def test_grpc_message_decoding_never_raises(raw: str, decoded: str) -> None:
    assert decode_grpc_message(raw) == decoded


def test_details_example_bytes() -> None:
    assert encode_status_details(Status(Code.NOT_FOUND, "not found")) == "CAUSCW5vdCBmb3VuZA"
    assert decode_status_details("CAUSCW5vdCBmb3VuZA") == Status(Code.NOT_FOUND, "not found")
    assert decode_status_details("CAUSCW5vdCBmb3VuZA==").code is Code.NOT_FOUND


def test_details_round_trip_through_google_rpc_status() -> None:
    status = Status(Code.RESOURCE_EXHAUSTED, "slow down ☺", (ERROR_INFO, BAD_REQUEST))
    text = encode_status_details(status)
    assert "=" not in text
    proto = status_pb2.Status.FromString(base64.b64decode(text + "=" * (-len(text) % 4)))
    assert proto.code == 8 and proto.message == "slow down ☺"
    info = error_details_pb2.ErrorInfo()
    assert proto.details[0].Unpack(info) and info.reason == "QUOTA"
    assert decode_status_details(text) == status
    assert decode_status_details(proto.SerializeToString()) == status
    assert decode_status_details(text).details[1].type_name == "google.rpc.BadRequest"


@pytest.mark.parametrize("garbage", ["!!!", "AAAA", b"\xff\xff\xff"])
def test_details_garbage(garbage: str | bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_status_details(garbage)
    assert info.value.code is Code.INTERNAL


def test_details_out_of_range_code() -> None:
    raw = status_pb2.Status(code=99, message="m").SerializeToString()
    status = decode_status_details(raw)
    assert status.code is Code.UNKNOWN and "99" in status.message


def test_status_to_metadata() -> None:
    assert status_to_metadata(Status(Code.OK)).items() == [("grpc-status", "0")]
    md = status_to_metadata(Status(Code.NOT_FOUND, "100% gone", (ERROR_INFO,)))
    wire = md.to_wire_pairs()
    assert wire[:2] == [("grpc-status", "5"), ("grpc-message", "100%25 gone")]
    assert wire[2][0] == "grpc-status-details-bin" and "=" not in wire[2][1]
    assert status_from_metadata(Metadata.from_wire_pairs(wire)) == Status(
        Code.NOT_FOUND, "100% gone", (ERROR_INFO,)
    )


def test_unicode_message_round_trip() -> None:
    md = status_to_metadata(Status(Code.INTERNAL, UNICODE_MESSAGE))
    assert md.get("grpc-message") == UNICODE_ENCODED
    assert status_from_metadata(md).message == UNICODE_MESSAGE


def test_trailers_beat_headers() -> None:
    # trailers-only/ignore-header-if-trailer-present: header 8, trailer 9 -> 9.
    status = status_from_metadata(_wire(("grpc-status", "9")), headers=_wire(("grpc-status", "8")))
    assert status.code is Code.FAILED_PRECONDITION


def test_trailers_only_uses_headers() -> None:
    headers = _wire(("grpc-status", "5"), ("grpc-message", "nope"), ("x-custom-trailer", "v"))
    assert status_from_metadata(Metadata(), headers=headers) == Status(Code.NOT_FOUND, "nope")


def test_trailers_without_status_do_not_fall_back_to_headers() -> None:
    status = status_from_metadata(_wire(("x-a", "1")), headers=_wire(("grpc-status", "0")))
    assert status.code is Code.UNKNOWN


def test_missing_status() -> None:
    # missing-status: only a grpc-message trailer -> UNKNOWN.
    status = status_from_metadata(_wire(("grpc-message", "error")))
    assert status.code is Code.UNKNOWN
    assert "grpc-status" in status.message and "error" in status.message
    assert status_from_metadata(Metadata()).code is Code.INTERNAL


def test_non_200_without_grpc_status_maps_http() -> None:
    for http, code in [(404, Code.UNIMPLEMENTED), (503, Code.UNAVAILABLE), (431, Code.UNKNOWN)]:
        status = status_from_metadata(Metadata(), Metadata(), http_status=http)
        assert status.code is code and str(http) in status.message
    assert status_from_metadata(Metadata(), http_status=800).message == "HTTP 800"


def test_non_200_with_grpc_status_uses_it() -> None:
    status = status_from_metadata(Metadata(), _wire(("grpc-status", "7")), http_status=503)
    assert status.code is Code.PERMISSION_DENIED


@pytest.mark.parametrize("raw", ["abc", "-1", "1.0", ""])
def test_non_numeric_status(raw: str) -> None:
    status = status_from_metadata(_wire(("grpc-status", raw), ("grpc-message", "m")))
    assert status.code is Code.UNKNOWN
    assert repr(raw) in status.message and status.message.endswith(": m")


def test_out_of_range_status_keeps_number() -> None:
    status = status_from_metadata(_wire(("grpc-status", "17")))
    assert status.code is Code.UNKNOWN and "17" in status.message


def test_details_bin_beats_plain_headers() -> None:
    details = encode_status_details(Status(Code.NOT_FOUND, "rich", (ERROR_INFO,)))
    trailers = _wire(("grpc-status", "3"), ("grpc-message", "plain"), ("grpc-status-details-bin", details))
    assert status_from_metadata(trailers) == Status(Code.NOT_FOUND, "rich", (ERROR_INFO,))
    problems = check_status_metadata(trailers)
    assert any("code 5 disagrees" in p for p in problems)
    assert any("message disagrees" in p for p in problems)


def test_details_bin_claiming_ok_does_not_hide_error() -> None:
    details = encode_status_details(Status(Code.OK, "", (ERROR_INFO,)))
    trailers = _wire(("grpc-status", "13"), ("grpc-status-details-bin", details))
    status = status_from_metadata(trailers)
    assert status.code is Code.INTERNAL and status.details == (ERROR_INFO,)


def test_garbage_details_bin_is_ignored() -> None:
    trailers = _wire(("grpc-status", "5"), ("grpc-message", "m"), ("grpc-status-details-bin", "!!"))
    assert status_from_metadata(trailers) == Status(Code.NOT_FOUND, "m")
    assert check_status_metadata(trailers) == ["grpc-status-details-bin is not valid base64"]


def test_duplicate_status_first_wins_and_is_flagged() -> None:
    trailers = _wire(("grpc-status", "5"), ("grpc-status", "0"), ("grpc-message", "a"))
    assert status_from_metadata(trailers).code is Code.NOT_FOUND
    assert check_status_metadata(trailers) == ["duplicate grpc-status: 2 values"]


@pytest.mark.parametrize(
    "pairs,problem",
    [
        ((("grpc-status", "0"), ("grpc-message", "hm")), "not empty although grpc-status is 0"),
        ((("grpc-status", "05"),), "leading zeros"),
        ((("grpc-status", "x"),), "not a number"),
        ((("grpc-status", "17"),), "outside 0-16"),
        ((("grpc-status", "2"), ("grpc-message", "50%")), "percent-encoded"),
        ((("grpc-status", "2"), ("grpc-message", "%FF")), "percent-encoded"),
        ((("grpc-status", "2"), ("grpc-message", "a"), ("grpc-message", "b")), "duplicate"),
    ],
)
def test_check_status_metadata(pairs: tuple[tuple[str, str], ...], problem: str) -> None:
    problems = check_status_metadata(_wire(*pairs))
    assert any(problem in p for p in problems), problems


def test_check_status_metadata_clean() -> None:
    md = status_to_metadata(Status(Code.NOT_FOUND, UNICODE_MESSAGE, (ERROR_INFO,)))
    assert check_status_metadata(Metadata.from_wire_pairs(md.to_wire_pairs())) == []
    ok_with_details = status_to_metadata(Status(Code.OK, "", (ERROR_INFO,)))
    assert check_status_metadata(ok_with_details) == [
        "grpc-status-details-bin has details although grpc-status is 0"
    ]


def test_unrelated_well_known_detail_survives() -> None:
    packed = any_pb2.Any()
    packed.Pack(duration_pb2.Duration(seconds=30))
    status = Status(Code.UNAVAILABLE, "", (ErrorDetail(packed.type_url, packed.value),))
    assert decode_status_details(encode_status_details(status)) == status
