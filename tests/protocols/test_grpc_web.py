"""gRPC-Web request building and response interpretation.

gRPC's PROTOCOL-WEB.md, and the Connect conformance suite's gRPC-Web client cases.
"""

from __future__ import annotations

import base64
import gzip
import random

import pytest

from rpcctl.errors import ProtocolError, RpcError
from rpcctl.protocols.base64_stream import Base64Stream
from rpcctl.protocols.grpc_web import GrpcWebClient, GrpcWebDecoder, parse_content_type
from rpcctl.wire.envelope import encode_envelope
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

MAX = 1 << 20
PROTO = Metadata([("content-type", "application/grpc-web+proto")])


def trailer(text: bytes, flags: int = 0x80) -> bytes:
    return encode_envelope(text, flags)


OK_TRAILER = trailer(b"grpc-status: 0\r\n")


def decode(
    body: bytes, headers: Metadata = PROTO, status: int = 200, chunked: bool = False
) -> tuple[list[bytes], GrpcWebDecoder, RpcError | None]:
    decoder = GrpcWebDecoder("proto", MAX)
    out: list[bytes] = []
    try:
        decoder.start(status, headers)
        rng = random.Random(7)
        pos = 0
        while pos < len(body):
            step = rng.randint(1, 6) if chunked else len(body)
            out += decoder.feed(body[pos : pos + step])
            pos += step
        out += decoder.finish()
    except RpcError as exc:
        return out, decoder, exc
    return out, decoder, None


def test_request_head_and_body() -> None:
    c = GrpcWebClient(
        "/s/M", codec="proto", metadata=Metadata(), timeout=1.0, compression_name="gzip", max_message_size=MAX
    )
    head, body = c.unary_request(b"abc")
    assert head.header("content-type") == "application/grpc-web+proto"
    assert head.header("x-grpc-web") == "1"
    assert head.header("grpc-timeout") == "1000000u"
    assert head.header("grpc-encoding") == "gzip"
    assert head.header("te") is None
    assert body is not None and body[0] == 0x01 and gzip.decompress(body[5:]) == b"abc"


def test_text_mode_request_is_base64_per_envelope() -> None:
    c = GrpcWebClient("/s/M", codec="proto", metadata=Metadata(), max_message_size=MAX, text=True)
    head, body = c.unary_request(b"ab")
    assert head.header("content-type") == "application/grpc-web-text"
    assert head.header("accept") == "application/grpc-web-text"
    assert body == base64.b64encode(b"\x00\x00\x00\x00\x02ab")


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("application/grpc-web", (False, "proto")),
        ("application/grpc-web+proto", (False, "proto")),
        ("application/grpc-web+json; charset=utf-8", (False, "json")),
        ("application/grpc-web-text", (True, "proto")),
        ("application/grpc-web-text+proto", (True, "proto")),
        ("application/grpc", None),
        ("text/html", None),
    ],
)
def test_content_types(value: str, parsed: tuple[bool, str] | None) -> None:
    assert parse_content_type(value) == parsed


@pytest.mark.parametrize("chunked", [False, True])
def test_messages_and_trailer_frame(chunked: bool) -> None:
    body = encode_envelope(b"a") + encode_envelope(b"") + trailer(b"grpc-status: 0\r\nx-t: 1\r\nx-t: 2\r\n")
    out, decoder, error = decode(body, chunked=chunked)
    assert error is None and out == [b"a", b""]
    assert decoder.trailers.get_all("x-t") == ["1", "2"]


def test_mixed_case_trailers_and_no_final_crlf() -> None:
    _, decoder, error = decode(trailer(b"Grpc-Status: 9\r\ngRPC-Message: error\r\nx-Custom-Trailer: bing"))
    assert error is not None and (error.code, error.message) == (Code.FAILED_PRECONDITION, "error")
    assert decoder.trailers.get("x-custom-trailer") == "bing"


def test_compressed_trailer_frame() -> None:
    headers = Metadata([*PROTO, ("grpc-encoding", "gzip")])
    body = trailer(
        gzip.compress(b"grpc-status: 9\r\ngrpc-message: error\r\nx-custom-trailer: bing\r\n"), 0x81
    )
    _, _, error = decode(body, headers)
    assert error is not None and error.code is Code.FAILED_PRECONDITION
    assert error.metadata and ("x-custom-trailer", "bing") in error.metadata


def test_trailers_only_response() -> None:
    headers = Metadata([*PROTO, ("grpc-status", "5"), ("grpc-message", "not%20found"), ("x-t", "v")])
    _, decoder, error = decode(b"", headers)
    assert error is not None and (error.code, error.message) == (Code.NOT_FOUND, "not found")
    assert decoder.trailers.items() == [("grpc-status", "5"), ("grpc-message", "not%20found"), ("x-t", "v")]


def test_trailer_frame_beats_header_status() -> None:
    headers = Metadata([*PROTO, ("grpc-status", "8")])
    _, _, error = decode(trailer(b"grpc-status: 9\r\n"), headers)
    assert error is not None and error.code is Code.FAILED_PRECONDITION


def test_missing_status_is_unknown() -> None:
    _, _, error = decode(trailer(b"grpc-message: oops\r\n"))
    assert error is not None and error.code is Code.UNKNOWN
    _, _, error = decode(b"")
    assert error is not None and error.code is Code.UNKNOWN


def test_details_bin_in_trailers() -> None:
    # Status{code=5, message="not found"}
    _, _, error = decode(trailer(b"grpc-status: 5\r\ngrpc-status-details-bin: CAUSCW5vdCBmb3VuZA\r\n"))
    assert error is not None and (error.code, error.message) == (Code.NOT_FOUND, "not found")


@pytest.mark.parametrize(
    ("body", "headers", "code", "text"),
    [
        (encode_envelope(b"a"), PROTO, Code.INTERNAL, "trailer frame"),
        (OK_TRAILER + b"\x00", PROTO, Code.INTERNAL, "extra bytes"),
        (encode_envelope(b"a", 0x01) + OK_TRAILER, PROTO, Code.INTERNAL, "compress"),
        (encode_envelope(b"a")[:-1], PROTO, Code.INVALID_ARGUMENT, "truncated"),
        (b"\x00\xff\xff\xff\xff", PROTO, Code.RESOURCE_EXHAUSTED, "max"),
        (trailer(b"this is not a header\r\n"), PROTO, Code.INTERNAL, "trailer block"),
        (b"", Metadata([("content-type", "text/html")]), Code.UNKNOWN, "content type"),
        (b"", Metadata([("content-type", "application/grpc-web+json")]), Code.INTERNAL, "codec"),
        (b"", Metadata([*PROTO, ("grpc-encoding", "foo")]), Code.INTERNAL, "compression"),
    ],
)
def test_malformed(body: bytes, headers: Metadata, code: Code, text: str) -> None:
    _, _, error = decode(body, headers)
    assert isinstance(error, ProtocolError), error
    assert error.code is code
    assert text in error.message


def test_gzip_bomb_frame() -> None:
    headers = Metadata([*PROTO, ("grpc-encoding", "gzip")])
    bomb = encode_envelope(gzip.compress(b"\0" * (4 * MAX)), 0x01)
    _, _, error = decode(bomb + OK_TRAILER, headers)
    assert error is not None and error.code is Code.RESOURCE_EXHAUSTED


def test_non_200_uses_grpc_status_else_http_status() -> None:
    _, _, error = decode(b"", Metadata([("grpc-status", "7")]), status=403)
    assert error is not None and error.code is Code.PERMISSION_DENIED
    _, _, error = decode(b"<html>Bad gateway</html>", Metadata([("content-type", "text/html")]), 502)
    assert error is not None and error.code is Code.UNAVAILABLE
    assert error.message.startswith("HTTP 502 Bad Gateway: <html>")


@pytest.mark.parametrize("chunked", [False, True])
def test_text_mode_with_padding_mid_body(chunked: bool) -> None:
    headers = Metadata([("content-type", "application/grpc-web-text+proto")])
    body = b"".join(
        base64.b64encode(frame) for frame in (encode_envelope(b"a"), encode_envelope(b"bc"), OK_TRAILER)
    )
    assert body.count(b"=") >= 2
    out, _, error = decode(body, headers, chunked=chunked)
    assert error is None and out == [b"a", b"bc"]


def test_text_mode_garbage() -> None:
    headers = Metadata([("content-type", "application/grpc-web-text")])
    _, _, error = decode(b"!!!!", headers)
    assert error is not None and "base64" in error.message
    _, _, error = decode(base64.b64encode(OK_TRAILER) + b"AB", headers)
    assert error is not None and "left over" in error.message


def test_base64_stream_bounded_pending() -> None:
    stream = Base64Stream()
    out = b"".join(stream.feed(bytes([c])) for c in base64.b64encode(b"hello world"))
    stream.finish()
    assert out == b"hello world"
    assert len(stream._pending) == 0
