"""The native gRPC client half: request heads and bodies, response decoding, the plainly-OK check."""

from __future__ import annotations

import gzip

import pytest

from rpcctl.errors import RpcError, UsageError
from rpcctl.protocols.exchange import USER_AGENT
from rpcctl.protocols.grpc import GrpcClient, GrpcDecoder, plainly_ok_unary
from rpcctl.wire.envelope import encode_envelope
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code
from tests.support.verdicts import GRPC_VERDICTS, MAX_MESSAGE_SIZE, Verdict

MAX = 1 << 20


def client(**kwargs: object) -> GrpcClient:
    options: dict[str, object] = {"metadata": Metadata(), "max_message_size": MAX}
    options.update(kwargs)
    return GrpcClient("/pkg.Svc/Method", **options)  # type: ignore[arg-type]


def test_request_head_in_the_spec_order() -> None:
    md = Metadata([("x-user", "1"), ("x-raw-bin", b"\x00\xff\x01\x02")])
    head, body = client(metadata=md, timeout=1.5).unary_request(b"abc")
    assert head.method == "POST"
    assert head.path == "/pkg.Svc/Method"
    assert [name for name, _ in head.headers] == [
        "te",
        "grpc-timeout",
        "content-type",
        "grpc-accept-encoding",
        "user-agent",
        "x-user",
        "x-raw-bin",
    ]
    assert head.header("te") == "trailers"
    assert head.header("grpc-timeout") == "1500000u"
    assert head.header("content-type") == "application/grpc"
    assert head.header("grpc-accept-encoding") == "gzip"
    assert head.header("user-agent") == USER_AGENT
    assert head.header("x-raw-bin") == "AP8BAg"  # unpadded base64
    assert body == encode_envelope(b"abc")


def test_json_codec_and_no_timeout() -> None:
    head = client(codec="json").stream_head()
    assert head.header("content-type") == "application/grpc+json"
    assert head.header("grpc-timeout") is None


def test_compressed_request() -> None:
    c = client(compression_name="gzip")
    head, body = c.unary_request(b"abc" * 10)
    assert head.header("grpc-encoding") == "gzip"
    assert body is not None and body[0] == 0x01
    assert gzip.decompress(body[5:]) == b"abc" * 10
    assert c.stream_head().header("grpc-encoding") == "gzip"
    assert client(compression_name="identity").stream_head().header("grpc-encoding") is None


def test_unknown_compression_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        client(compression_name="br")


def test_invalid_metadata_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        client(metadata=Metadata([("x-bad", "a\nb")])).stream_head()


def test_no_cap_on_a_sent_message() -> None:
    big = b"x" * (2 * MAX)
    _, body = client().unary_request(big)
    assert body is not None and len(body) == len(big) + 5
    assert len(client().encode_message(big)) == len(big) + 5


def test_messages_stream_out_as_they_complete() -> None:
    decoder = client().new_decoder()
    decoder.start(200, Metadata([("content-type", "application/grpc")]))
    first, second = encode_envelope(b"one"), encode_envelope(b"two")
    assert decoder.feed(first + second[:3]) == [b"one"]
    assert decoder.feed(second[3:]) == [b"two"]
    decoder.take_trailers(Metadata([("grpc-status", "0"), ("x-t", "v")]))
    assert decoder.finish() == []
    assert decoder.status is not None and decoder.status.code is Code.OK
    assert decoder.trailers.get("x-t") == "v"


def test_an_error_carries_its_trailers_and_details() -> None:
    decoder = GrpcDecoder("proto", MAX)
    decoder.start(200, Metadata([("content-type", "application/grpc"), ("x-h", "1")]))
    decoder.take_trailers(
        Metadata.from_wire_pairs(
            [
                ("grpc-status", "5"),
                ("grpc-message", "x"),
                ("x-t", "v"),
                ("grpc-status-details-bin", "CAUSCW5vdCBmb3VuZA"),
            ]
        )
    )
    with pytest.raises(RpcError) as caught:
        decoder.finish()
    assert caught.value.code is Code.NOT_FOUND
    assert caught.value.message == "not found"  # details-bin wins over grpc-message
    assert ("x-t", "v") in caught.value.metadata
    assert decoder.headers.get("x-h") == "1"


def test_trailers_only_metadata_comes_from_the_headers() -> None:
    decoder = GrpcDecoder("proto", MAX)
    decoder.start(
        200, Metadata([("content-type", "application/grpc"), ("grpc-status", "7"), ("x-why", "nope")])
    )
    decoder.take_trailers(Metadata())
    with pytest.raises(RpcError) as caught:
        decoder.finish()
    assert caught.value.code is Code.PERMISSION_DENIED
    assert decoder.trailers.get("x-why") == "nope"
    assert "content-type" not in decoder.trailers


def test_a_json_call_expects_a_json_answer() -> None:
    decoder = GrpcDecoder("json", MAX)
    with pytest.raises(RpcError) as caught:
        decoder.start(200, Metadata([("content-type", "application/grpc")]))
    assert caught.value.code is Code.INTERNAL
    decoder = GrpcDecoder("json", MAX)
    decoder.start(200, Metadata([("content-type", "application/grpc+json")]))


def _bytes(pairs: tuple[tuple[str, str], ...]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in pairs]


@pytest.mark.parametrize("row", GRPC_VERDICTS, ids=[row.name for row in GRPC_VERDICTS])
def test_plainly_ok_only_for_answers_the_decoder_accepts(row: Verdict) -> None:
    accepted = plainly_ok_unary(
        row.http_status, _bytes(row.headers), row.body, _bytes(row.trailers), MAX_MESSAGE_SIZE
    )
    if accepted:
        assert row.expected_code is Code.OK
    if row.name in ("ok", "ok +proto"):
        assert accepted


def test_plainly_ok_refuses_details_and_a_bad_length() -> None:
    headers = [(b"content-type", b"application/grpc")]
    body = encode_envelope(b"hi")
    ok = [(b"grpc-status", b"0")]
    assert plainly_ok_unary(200, headers, body, ok, 100)
    assert not plainly_ok_unary(200, headers, body, [*ok, (b"grpc-status-details-bin", b"CAU")], 100)
    assert not plainly_ok_unary(200, headers, body + b"x", ok, 100)
    assert not plainly_ok_unary(200, headers, body, ok, 1)
    assert not plainly_ok_unary(500, headers, body, ok, 100)
