"""gRPC-Web fixes: the accept header, and a status in the HTTP headers next to an empty trailer frame."""

from __future__ import annotations

import pytest

from rpcctl.errors import RpcError
from rpcctl.protocols.grpc_web import GrpcWebClient, GrpcWebDecoder
from rpcctl.wire.envelope import encode_envelope
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

MAX = 1 << 20
EMPTY_TRAILER_FRAME = bytes.fromhex("8000000000")


@pytest.mark.parametrize(
    ("codec", "text", "expected"),
    [
        ("proto", False, "application/grpc-web+proto"),
        ("json", False, "application/grpc-web+json"),
        ("proto", True, "application/grpc-web-text"),
        ("json", True, "application/grpc-web-text+json"),
    ],
)
def test_the_client_accepts_its_own_content_type(codec: str, text: bool, expected: str) -> None:
    client = GrpcWebClient("/s/M", codec=codec, metadata=Metadata(), max_message_size=MAX, text=text)
    head, _ = client.unary_request(b"")
    assert head.header("content-type") == expected
    assert head.header("accept") == expected


def _run(headers: Metadata, body: bytes) -> tuple[GrpcWebDecoder, RpcError | None]:
    decoder = GrpcWebDecoder("proto", MAX)
    try:
        decoder.start(200, headers)
        decoder.feed(body)
        decoder.take_trailers(Metadata())
        decoder.finish()
    except RpcError as exc:
        return decoder, exc
    return decoder, None


def test_a_header_status_wins_over_an_empty_trailer_frame() -> None:
    headers = Metadata(
        [
            ("content-type", "application/grpc-web+proto"),
            ("grpc-status", "3"),
            ("grpc-message", "bad%20arg"),
            ("x-extra", "1"),
        ]
    )
    decoder, error = _run(headers, EMPTY_TRAILER_FRAME)
    assert error is not None
    assert error.code is Code.INVALID_ARGUMENT
    assert error.message == "bad arg"
    assert decoder.trailers.get("x-extra") == "1"


def test_a_trailer_frame_status_still_beats_the_headers() -> None:
    headers = Metadata([("content-type", "application/grpc-web+proto"), ("grpc-status", "8")])
    _, error = _run(headers, encode_envelope(b"grpc-status: 9\r\n", 0x80))
    assert error is not None and error.code is Code.FAILED_PRECONDITION


def test_an_empty_trailer_frame_without_a_header_status_is_internal() -> None:
    _, error = _run(Metadata([("content-type", "application/grpc-web+proto")]), EMPTY_TRAILER_FRAME)
    assert error is not None and error.code is Code.INTERNAL


def test_a_header_ok_and_an_empty_trailer_frame_is_ok() -> None:
    headers = Metadata([("content-type", "application/grpc-web+proto"), ("grpc-status", "0")])
    decoder, error = _run(headers, encode_envelope(b"\x08\x01") + EMPTY_TRAILER_FRAME)
    assert error is None
    assert decoder.status is not None and decoder.status.code is Code.OK
