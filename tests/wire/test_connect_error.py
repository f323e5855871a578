"""Connect error JSON, end-stream messages and unary trailer- headers."""

from __future__ import annotations

import json

import pytest

from rpcctl.errors import ProtocolError, RpcError
from rpcctl.wire.connect_error import (
    check_connect_error,
    connect_error_body,
    end_stream_body,
    join_trailer_headers,
    parse_connect_error,
    parse_end_stream,
    split_trailer_headers,
)
from rpcctl.wire.error_detail import ErrorDetail
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

JSON = "application/json"
RETRY = ErrorDetail("type.googleapis.com/google.rpc.RetryInfo", b"\n\x02\x08<")


def _body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_valid_error_with_details() -> None:
    body = _body(
        {
            "code": "unavailable",
            "message": "overloaded: back off and retry",
            "details": [{"type": "google.rpc.RetryInfo", "value": "CgIIPA", "debug": {"retryDelay": "30s"}}],
        }
    )
    err = parse_connect_error(body, 503, JSON)
    assert err.code is Code.UNAVAILABLE
    assert err.message == "overloaded: back off and retry"
    assert err.details == (RETRY,)
    assert check_connect_error(body) == []


@pytest.mark.parametrize("value", ["CgIIPA", "CgIIPA=="])
def test_detail_value_padded_or_not(value: str) -> None:
    body = _body({"code": "unavailable", "details": [{"type": "google.rpc.RetryInfo", "value": value}]})
    assert parse_connect_error(body, 503, JSON).details == (RETRY,)
    assert bool(check_connect_error(body)) == value.endswith("=")


def test_body_code_beats_http_status() -> None:
    # errors/compressed: HTTP 422 with out_of_range in the body.
    err = parse_connect_error(_body({"code": "out_of_range", "message": "m"}), 422, JSON)
    assert err.code is Code.OUT_OF_RANGE


def test_html_502_from_a_proxy() -> None:
    html = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body>\x1b[31m" + b"x" * 500
    err = parse_connect_error(html, 502, "text/html")
    assert err.code is Code.UNAVAILABLE
    assert err.message.startswith("HTTP 502 Bad Gateway: <html> <head><title>502")
    assert "\x1b" not in err.message and "\\x1b" in err.message
    assert len(err.message) <= len("HTTP 502 Bad Gateway: ") + 200


def test_router_404_plain_text() -> None:
    err = parse_connect_error(b"404 page not found\n", 404, "text/plain; charset=utf-8")
    assert err.code is Code.UNIMPLEMENTED
    assert err.message == "HTTP 404 Not Found: 404 page not found"


def test_non_json_content_type_ignores_body() -> None:
    # unexpected-error-body: 403 with application/proto -> PERMISSION_DENIED.
    body = _body({"code": "not_found"})
    err = parse_connect_error(body, 403, "application/proto")
    assert err.code is Code.PERMISSION_DENIED
    binary = parse_connect_error(b"\x08\xff\xfe\x00\x80", 403, "application/proto")
    assert binary.message == "HTTP 403 Forbidden: 5 bytes of binary body"


def test_empty_body_and_no_content_type() -> None:
    assert parse_connect_error(b"", 504, None).message == "HTTP 504 Gateway Timeout"
    assert parse_connect_error(b"", 504, None).code is Code.UNAVAILABLE


@pytest.mark.parametrize(
    "body,http,code,message",
    [
        (b"null", 401, Code.UNAUTHENTICATED, "HTTP 401 Unauthorized: null"),
        (b'{"code": null, "message": "oops"}', 401, Code.UNAUTHENTICATED, "oops"),
        (b'{"message": "oops"}', 401, Code.UNAUTHENTICATED, "oops"),
        (b'{"code": "foobar", "message": "m"}', 429, Code.UNAVAILABLE, "m"),
        (b'{"code": "foobar"}', 429, Code.UNAVAILABLE, None),
        (b'{"code": "ok"}', 500, Code.UNKNOWN, None),
        (b"{not json", 400, Code.INTERNAL, "HTTP 400 Bad Request: {not json"),
        (b'{"code": 5}', 404, Code.UNIMPLEMENTED, None),
    ],
)
def test_unary_fallback_to_http_status(body: bytes, http: int, code: Code, message: str | None) -> None:
    err = parse_connect_error(body, http, "application/json; charset=utf-8")
    assert err.code is code
    if message is not None:
        assert err.message == message
    else:
        assert err.message.startswith(f"HTTP {http}")


def test_unknown_code_string_is_named_in_synthesized_message() -> None:
    err = parse_connect_error(b'{"code": "foobar"}', 429, JSON)
    assert "foobar" in err.message
    assert check_connect_error(b'{"code": "foobar"}') == ["code 'foobar' is not a Connect code"]


def test_duplicate_fields_last_wins_and_flagged() -> None:
    body = b'{"code": "not_found", "code": "aborted", "message": "a", "message": "b"}'
    err = parse_connect_error(body, 404, JSON)
    assert (err.code, err.message) == (Code.ABORTED, "b")
    assert check_connect_error(body) == [
        "duplicate JSON key 'code'",
        "duplicate JSON key 'message'",
    ]


def test_unrecognized_fields_and_garbage_debug() -> None:
    body = _body(
        {
            "code": "unavailable",
            "extra": True,
            "details": [
                {"type": "google.rpc.RetryInfo", "value": "CgIIPA", "debug": "garbage", "x": 1},
                {"type": "google.rpc.RetryInfo"},
                {"type": "a.B", "value": "!!"},
                "not an object",
                {"value": "CgIIPA"},
            ],
        }
    )
    err = parse_connect_error(body, 503, JSON)
    assert err.details == (RETRY, ErrorDetail("type.googleapis.com/google.rpc.RetryInfo", b""))
    problems = check_connect_error(body)
    assert "unexpected key 'extra'" in problems


def test_detail_type_with_slash_kept() -> None:
    body = _body({"code": "internal", "details": [{"type": "example.com/a.B", "value": ""}]})
    assert parse_connect_error(body, 500, JSON).details[0].type_url == "example.com/a.B"


def test_missing_message_is_empty_when_code_valid() -> None:
    assert parse_connect_error(b'{"code":"not_found"}', 404, JSON).message == ""


def test_unicode_message_json_round_trip() -> None:
    message = "\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\n"
    body = connect_error_body(RpcError(Code.INTERNAL, message))
    assert parse_connect_error(body, 500, JSON).message == message


def test_connect_error_body() -> None:
    body = connect_error_body(RpcError(Code.CANCELLED, "stop", (RETRY,)))
    assert json.loads(body) == {
        "code": "canceled",
        "message": "stop",
        "details": [{"type": "google.rpc.RetryInfo", "value": "CgIIPA"}],
    }
    assert check_connect_error(body) == []
    assert json.loads(connect_error_body(RpcError(Code.NOT_FOUND))) == {"code": "not_found"}


def test_end_stream_success() -> None:
    assert parse_end_stream(b"{}") == (None, Metadata())
    assert parse_end_stream(b'{"error": null}')[0] is None


def test_end_stream_top_level_code_is_success() -> None:
    # client-stream/ok-but-no-response: {"code": ...} without "error" is not an error.
    err, _ = parse_end_stream(b'{"code": "out_of_range", "message": "x"}')
    assert err is None


def test_end_stream_error_and_metadata() -> None:
    payload = _body(
        {
            "error": {
                "code": "out_of_range",
                "message": "m",
                "details": [{"type": "google.rpc.RetryInfo", "value": "CgIIPA"}],
            },
            "metadata": {"X-Custom-Trailer": ["bing", "quux"], "x-bin": ["AAECAw", "AQ=="]},
        }
    )
    err, md = parse_end_stream(payload)
    assert err is not None
    assert (err.code, err.message, err.details) == (Code.OUT_OF_RANGE, "m", (RETRY,))
    assert md.items() == [
        ("x-custom-trailer", "bing"),
        ("x-custom-trailer", "quux"),
        ("x-bin", b"\x00\x01\x02\x03"),
        ("x-bin", b"\x01"),
    ]
    assert err.metadata == tuple(md.items())


@pytest.mark.parametrize(
    "error",
    [{}, {"code": None, "message": "m"}, {"message": "m"}, {"code": "foobar", "message": "m"}],
)
def test_end_stream_bad_code_is_unknown_not_http(error: dict[str, object]) -> None:
    err, _ = parse_end_stream(_body({"error": error}))
    assert err is not None and err.code is Code.UNKNOWN
    if "message" in error:
        assert err.message == "m"


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[]",
        b'{"error": "oops"}',
        b'{"metadata": []}',
        b'{"metadata": {"a": "not-a-list"}}',
        b'{"metadata": {"a": [1]}}',
        b'{"metadata": {"bad name": ["v"]}}',
        b'{"metadata": {"x": ["a\\r\\ngrpc-status: 0"]}}',
        b'{"metadata": {"x\\r\\ny": ["v"]}}',
        b"\xff\xfe",
    ],
)
def test_end_stream_malformed(payload: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_end_stream(payload)
    assert info.value.code is Code.INTERNAL


def test_end_stream_body_round_trip() -> None:
    assert end_stream_body(None, Metadata()) == b"{}"
    md = Metadata([("x-custom-trailer", "bing"), ("x-custom-trailer", "quux"), ("x-bin", b"\x00")])
    body = end_stream_body(RpcError(Code.DATA_LOSS, "gone", (RETRY,)), md)
    assert json.loads(body)["metadata"] == {"x-custom-trailer": ["bing", "quux"], "x-bin": ["AA"]}
    err, parsed = parse_end_stream(body)
    assert err is not None and err.status == RpcError(Code.DATA_LOSS, "gone", (RETRY,)).status
    assert parsed == md


def test_split_and_join_trailer_headers() -> None:
    # unary/empty-response: trailer-x-custom-trailer becomes trailer x-custom-trailer.
    headers = Metadata(
        [
            ("content-type", "application/proto"),
            ("Trailer-X-Custom-Trailer", "bing"),
            ("trailer", "x"),
        ]
    )
    plain, trailers = split_trailer_headers(headers)
    assert plain.items() == [("content-type", "application/proto"), ("trailer", "x")]
    assert trailers.items() == [("x-custom-trailer", "bing")]
    assert join_trailer_headers(plain, trailers).items() == [
        ("content-type", "application/proto"),
        ("trailer", "x"),
        ("trailer-x-custom-trailer", "bing"),
    ]
