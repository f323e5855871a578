"""gRPC-Web trailer-frame payloads."""

from __future__ import annotations

import pytest

from rpcctl.errors import ProtocolError
from rpcctl.wire.compression import compress, decompress
from rpcctl.wire.envelope import FLAG_COMPRESSED, FLAG_TRAILER, EnvelopeReader, encode_envelope
from rpcctl.wire.grpc_status import status_from_metadata
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code
from rpcctl.wire.trailer_block import encode_trailer_block, parse_trailer_block


def test_encode_examples() -> None:
    assert encode_trailer_block(Metadata([("grpc-status", "0")])) == b"grpc-status: 0\r\n"
    payload = encode_trailer_block(Metadata([("grpc-status", "5"), ("grpc-message", "not%20found")]))
    assert payload == b"grpc-status: 5\r\ngrpc-message: not%20found\r\n"
    assert encode_envelope(payload, FLAG_TRAILER)[:5] == bytes.fromhex("800000002b")


def test_parse_mixed_case() -> None:
    md = parse_trailer_block(b"Grpc-Status: 9\r\ngRPC-Message: error\r\nx-Custom-Trailer: bing\r\n")
    assert md.items() == [
        ("grpc-status", "9"),
        ("grpc-message", "error"),
        ("x-custom-trailer", "bing"),
    ]
    assert status_from_metadata(md).code is Code.FAILED_PRECONDITION


def test_parse_duplicates_kept_in_order() -> None:
    md = parse_trailer_block(b"x-custom-trailer: bing\r\nx-custom-trailer: quux\r\ngrpc-status: 0")
    assert md.get_all("x-custom-trailer") == ["bing", "quux"]
    assert md.get("grpc-status") == "0"


def test_parse_lenient_forms() -> None:
    md = parse_trailer_block(b"a:1\nb:\t 2 \r\n\r\nc: x\r\n  continued\r\n")
    assert md.items() == [("a", "1"), ("b", "2"), ("c", "x continued")]
    assert parse_trailer_block(b"") == Metadata()


def test_parse_bin_values() -> None:
    md = parse_trailer_block(b"x-bin: AAECAw\r\ny-bin: raw text?\r\n")
    assert md.get("x-bin") == b"\x00\x01\x02\x03"
    assert md.get("y-bin") == "raw text?"


@pytest.mark.parametrize(
    "payload", [b"no colon here\r\n", b": empty\r\n", b"bad name: v\r\n", b" first: cont\r\n"]
)
def test_parse_malformed(payload: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_trailer_block(payload)
    assert info.value.code is Code.INTERNAL


@pytest.mark.parametrize(
    "md",
    [
        Metadata([("x-a", "ok\r\ngrpc-status: 0")]),
        Metadata([("x-a", "ok\ngrpc-status: 0")]),
        Metadata([("x-a", "nul\x00")]),
        Metadata([("x-a\r\ngrpc-status", "0")]),
    ],
)
def test_encode_refuses_injection(md: Metadata) -> None:
    with pytest.raises(ProtocolError):
        encode_trailer_block(md)


def test_round_trip_with_binary() -> None:
    md = Metadata([("grpc-status", "0"), ("x-bin", b"\xff\x00"), ("x", "1"), ("x", "2")])
    assert parse_trailer_block(encode_trailer_block(md)) == md


def test_compressed_trailer_frame() -> None:
    # trailers-in-body/compressed: flags 0x81 with gzip.
    payload = b"grpc-status: 9\r\ngrpc-message: error\r\nx-custom-trailer: bing\r\n"
    frame = encode_envelope(compress("gzip", payload), FLAG_TRAILER | FLAG_COMPRESSED)
    reader = EnvelopeReader(allowed_flags=FLAG_COMPRESSED | FLAG_TRAILER)
    (env,) = reader.feed(frame)
    assert env.flags == 0x81
    md = parse_trailer_block(decompress("gzip", env.data, 1000))
    status = status_from_metadata(md)
    assert (status.code, status.message) == (Code.FAILED_PRECONDITION, "error")
    assert md.get("x-custom-trailer") == "bing"
