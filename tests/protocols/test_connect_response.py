"""Connect response interpretation, incl. the Connect conformance suite's client edge cases."""

from __future__ import annotations

import base64
import gzip
import json
import random

import pytest
from google.rpc import error_details_pb2

from rpcctl.errors import ProtocolError, RpcError
from rpcctl.protocols.connect import ConnectStreamDecoder, ConnectUnaryDecoder
from rpcctl.wire.envelope import encode_envelope
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

MAX = 1 << 20


def unary(status: int, headers: dict[str, str], body: bytes, codec: str = "proto") -> list[bytes]:
    decoder = ConnectUnaryDecoder(codec, MAX)
    decoder.start(status, Metadata(list(headers.items())))
    decoder.feed(body)
    return decoder.finish()


def rpc_error(status: int, headers: dict[str, str], body: bytes, codec: str = "proto") -> RpcError:
    with pytest.raises(RpcError) as info:
        unary(status, headers, body, codec)
    return info.value


def test_ok_message_and_trailer_headers() -> None:
    decoder = ConnectUnaryDecoder("proto", MAX)
    decoder.start(
        200,
        Metadata([("content-type", "application/proto"), ("x-h", "1"), ("trailer-x-t", "bing")]),
    )
    decoder.feed(b"\x0a\x01")
    assert decoder.feed(b"a") == []
    assert decoder.finish() == [b"\x0a\x01a"]
    assert decoder.trailers.items() == [("x-t", "bing")]
    assert "trailer-x-t" not in decoder.headers


def test_empty_body_is_an_empty_message() -> None:
    assert unary(200, {"content-type": "application/proto"}, b"") == [b""]


def test_json_with_charset_is_accepted() -> None:
    assert unary(200, {"content-type": "application/json; charset=utf-8"}, b"{}", "json") == [b"{}"]


def test_gzip_response_is_decompressed() -> None:
    headers = {"content-type": "application/proto", "content-encoding": "gzip"}
    assert unary(200, headers, gzip.compress(b"abc")) == [b"abc"]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"content-type": "image/jpeg"}, Code.UNKNOWN),  # unexpected-content-type
        ({"content-type": "application/json"}, Code.INTERNAL),  # unexpected-codec
        ({"content-type": "application/proto", "content-encoding": "foo"}, Code.INTERNAL),
    ],
)
def test_bad_200_responses(headers: dict[str, str], code: Code) -> None:
    error = rpc_error(200, headers, b"")
    assert isinstance(error, ProtocolError)
    assert error.code is code


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("status", "headers", "body", "code", "message"),
    [
        (401, JSON, b"null", Code.UNAUTHENTICATED, None),  # error/null
        (401, JSON, b'{"code":null,"message":"oops"}', Code.UNAUTHENTICATED, "oops"),
        (401, JSON, b'{"message":"oops"}', Code.UNAUTHENTICATED, "oops"),
        (429, JSON, b'{"code":"foobar","message":"oops"}', Code.UNAVAILABLE, "oops"),
        (403, {"content-type": "application/proto"}, b"\x0a\x00", Code.PERMISSION_DENIED, None),
        (404, {"content-type": "text/plain"}, b"404 page not found", Code.UNIMPLEMENTED, None),
        (422, JSON, b'{"code":"out_of_range","message":"x","extra":1}', Code.OUT_OF_RANGE, "x"),
    ],
)
def test_unary_errors(
    status: int, headers: dict[str, str], body: bytes, code: Code, message: str | None
) -> None:
    error = rpc_error(status, headers, body)
    assert error.code is code
    if message is not None:
        assert error.message == message


def test_compressed_error_body() -> None:
    body = gzip.compress(b'{"code":"out_of_range","message":"no"}')
    error = rpc_error(422, {**JSON, "content-encoding": "gzip"}, body)
    assert (error.code, error.message) == (Code.OUT_OF_RANGE, "no")


def test_error_details_decoded_from_type_and_value_only() -> None:
    info = error_details_pb2.ErrorInfo(reason="R", domain="d")
    value = base64.b64encode(info.SerializeToString()).rstrip(b"=").decode()
    body = json.dumps(
        {
            "code": "failed_precondition",
            "details": [{"type": "google.rpc.ErrorInfo", "value": value, "debug": "garbage"}],
        }
    ).encode()
    error = rpc_error(400, JSON, body)
    assert error.details[0].type_url == "type.googleapis.com/google.rpc.ErrorInfo"
    assert error_details_pb2.ErrorInfo.FromString(error.details[0].value).reason == "R"


def test_html_502_shows_status_line_and_body_start() -> None:
    page = b"<html>\n<head><title>502 Bad Gateway</title></head>" + b"x" * 100_000
    error = rpc_error(502, {"content-type": "text/html"}, page)
    assert error.code is Code.UNAVAILABLE
    assert error.message.startswith("HTTP 502 Bad Gateway: <html> <head><title>502 Bad Gateway")


def test_error_trailers_are_kept() -> None:
    headers = {**JSON, "trailer-x-t": "v"}
    error = rpc_error(500, headers, b'{"code":"internal"}')
    assert error.metadata == (("x-t", "v"),)


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"\0" * (8 * MAX))
    error = rpc_error(200, {"content-type": "application/proto", "content-encoding": "gzip"}, bomb)
    assert error.code is Code.RESOURCE_EXHAUSTED


def test_body_past_max_size_is_refused() -> None:
    error = rpc_error(200, {"content-type": "application/proto"}, b"x" * (MAX + 1))
    assert error.code is Code.RESOURCE_EXHAUSTED


# --- streaming ---------------------------------------------------------------------------

STREAM = Metadata([("content-type", "application/connect+proto")])


def end(obj: object, flags: int = 0x02) -> bytes:
    return encode_envelope(json.dumps(obj).encode(), flags)


def stream(body: bytes, headers: Metadata = STREAM, chunks: int = 0) -> tuple[list[bytes], object]:
    decoder = ConnectStreamDecoder("proto", MAX)
    decoder.start(200, headers)
    out: list[bytes] = []
    rng = random.Random(len(body))
    try:
        pos = 0
        while pos < len(body):
            step = rng.randint(1, 7) if chunks else len(body)
            out += decoder.feed(body[pos : pos + step])
            pos += step
        out += decoder.finish()
    except RpcError as exc:
        return out, exc
    return out, decoder.trailers


@pytest.mark.parametrize("chunks", [0, 1])
def test_stream_messages_then_end_with_metadata(chunks: int) -> None:
    body = encode_envelope(b"a") + encode_envelope(b"") + end({"metadata": {"x-t": ["1", "2"]}})
    out, trailers = stream(body, chunks=chunks)
    assert out == [b"a", b""]
    assert isinstance(trailers, Metadata) and trailers.get_all("x-t") == ["1", "2"]


@pytest.mark.parametrize(
    "payload",
    [
        {"error": {"code": None, "message": "m"}},
        {"error": {"message": "m"}},
        {"error": {"code": "foobar", "message": "m"}},
    ],
)
def test_end_stream_bad_codes_are_unknown(payload: object) -> None:
    out, error = stream(encode_envelope(b"a") + end(payload))
    assert out == [b"a"]
    assert isinstance(error, RpcError)
    assert (error.code, error.message) == (Code.UNKNOWN, "m")


def test_end_stream_null_error_and_top_level_code_are_success() -> None:
    assert stream(end({"error": None}))[0] == []
    out, trailers = stream(end({"code": "out_of_range", "message": "x"}))
    assert out == [] and isinstance(trailers, Metadata)


def test_compressed_end_stream() -> None:
    payload = gzip.compress(json.dumps({"error": {"code": "out_of_range"}}).encode())
    headers = Metadata([*STREAM, ("connect-content-encoding", "gzip")])
    _, error = stream(encode_envelope(payload, 0x03), headers)
    assert isinstance(error, RpcError) and error.code is Code.OUT_OF_RANGE


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        (encode_envelope(b"a"), Code.INTERNAL, "end-stream"),  # no-end-stream
        (end({}) + b"\x00", Code.INTERNAL, "extra bytes"),
        (encode_envelope(b"a", 0x01) + end({}), Code.INTERNAL, "compress"),
        (encode_envelope(b"a")[:-1], Code.INVALID_ARGUMENT, "truncated"),
        (b"\x00\xff\xff\xff\xff", Code.RESOURCE_EXHAUSTED, "max"),
        (encode_envelope(b"a", 0x04), Code.INTERNAL, "flags"),
        (end({"metadata": {"x-t": ["a\r\nb"]}}), Code.INTERNAL, "metadata"),
        (encode_envelope(b"not json", 0x02), Code.INTERNAL, "end-stream"),
    ],
)
def test_malformed_streams(body: bytes, code: Code, text: str) -> None:
    _, error = stream(body)
    assert isinstance(error, ProtocolError), error
    assert error.code is code
    assert text in error.message


def test_no_end_stream_still_yields_earlier_messages() -> None:
    out, error = stream(encode_envelope(b"a") + encode_envelope(b"b"), chunks=1)
    assert out == [b"a", b"b"]
    assert isinstance(error, ProtocolError) and error.code is Code.INTERNAL


@pytest.mark.parametrize(
    ("ctype", "code"),
    [("application/proto", Code.UNKNOWN), ("application/connect+json", Code.INTERNAL)],
)
def test_stream_content_type(ctype: str, code: Code) -> None:
    decoder = ConnectStreamDecoder("proto", MAX)
    with pytest.raises(ProtocolError) as info:
        decoder.start(200, Metadata([("content-type", ctype)]))
    assert info.value.code is code


def test_stream_non_200_maps_http_status() -> None:
    decoder = ConnectStreamDecoder("proto", MAX)
    decoder.start(503, Metadata([("content-type", "text/html")]))
    decoder.feed(b"<h1>down</h1>")
    with pytest.raises(RpcError) as info:
        decoder.finish()
    assert info.value.code is Code.UNAVAILABLE
    assert "HTTP 503" in info.value.message and "<h1>down</h1>" in info.value.message
