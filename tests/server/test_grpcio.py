"""Native gRPC conformance of rpcctl's server, as grpcio (an independent client) sees it."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from rpcctl.schema.registry import Schema
from rpcctl.server.serve import Server

PATH = "/rpcctl.test.v1.TestService/"


def _cls(schema: Schema, name: str) -> Any:
    return schema.message_class(schema.pool.FindMessageTypeByName(f"rpcctl.test.v1.{name}"))


@pytest.fixture
def channel(threaded: Server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(threaded.address) as ch:
        yield ch


def test_unary_echoes_metadata_headers_and_trailers(channel: grpc.Channel, schema: Schema):
    req = _cls(schema, "EchoRequest")(message="hi")
    req.kitchen.text = "k"
    req.kitchen.blob = b"\x00\xff"
    call = channel.unary_unary(PATH + "Echo")
    raw, info = call.with_call(
        req.SerializeToString(),
        metadata=[("x-test", "v"), ("x-dup", "1"), ("x-dup", "2"), ("x-test-bin", b"\x00\x01")],
        timeout=10,
    )
    res = _cls(schema, "EchoResponse").FromString(raw)
    assert res.message == "hi"
    assert res.kitchen == req.kitchen
    assert "x-test: v" in res.headers
    assert "content-type: application/grpc" in res.headers
    assert [h for h in res.headers if h.startswith("x-dup:")] == ["x-dup: 1", "x-dup: 2"]
    assert "x-test-bin: AAE" in res.headers
    assert ("x-echo-initial", "yes") in [(m.key, m.value) for m in info.initial_metadata()]
    assert [(m.key, m.value) for m in info.trailing_metadata()] == [("x-echo-trailer", "done")]


def test_server_stream_then_failure_status(channel: grpc.Channel, schema: Schema):
    count_response = _cls(schema, "CountResponse")
    stream = channel.unary_stream(PATH + "Count")(
        _cls(schema, "CountRequest")(count=3, fail_code=9).SerializeToString(), timeout=10
    )
    got = []
    with pytest.raises(grpc.RpcError) as err:
        got.extend(count_response.FromString(raw).n for raw in stream)
    assert got == [1, 2, 3]
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert err.value.details() == "failed after the stream"


def test_server_stream_with_no_messages(channel: grpc.Channel, schema: Schema):
    stream = channel.unary_stream(PATH + "Count")(
        _cls(schema, "CountRequest")(count=0).SerializeToString(), timeout=10
    )
    assert list(stream) == []


def test_client_stream_sums(channel: grpc.Channel, schema: Schema):
    n = _cls(schema, "CountResponse")
    raw = channel.stream_unary(PATH + "Sum")(
        iter([n(n=k).SerializeToString() for k in (1, 2, 39)]), timeout=10
    )
    res = _cls(schema, "SumResponse").FromString(raw)
    assert (res.total, res.messages) == (42, 3)


def test_client_stream_with_no_messages(channel: grpc.Channel, schema: Schema):
    raw = channel.stream_unary(PATH + "Sum")(iter([]), timeout=10)
    assert _cls(schema, "SumResponse").FromString(raw).messages == 0


def test_bidi_is_full_duplex(channel: grpc.Channel, schema: Schema):
    req_t, res_t = _cls(schema, "EchoRequest"), _cls(schema, "EchoResponse")
    outbox: queue.Queue[bytes | None] = queue.Queue()

    def requests() -> Iterator[bytes]:
        while (item := outbox.get(timeout=10)) is not None:
            yield item

    responses = channel.stream_stream(PATH + "Chat")(requests(), timeout=20)
    seen = []
    for word in ("a", "b", "c"):
        outbox.put(req_t(message=word).SerializeToString())
        # The next request goes only once this answer is in: a half-duplex server would hang.
        res = res_t.FromString(next(responses))
        seen.append((res.message, res.seq))
    outbox.put(None)
    assert list(responses) == []
    assert seen == [("a", 1), ("b", 2), ("c", 3)]


def test_error_carries_details(channel: grpc.Channel, schema: Schema):
    req = _cls(schema, "FailRequest")(code=7, message="no way\r\n100% ☺", with_details=True)
    with pytest.raises(grpc.RpcError) as err:
        channel.unary_unary(PATH + "Fail")(req.SerializeToString(), timeout=10)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert err.value.details() == "no way\r\n100% ☺"
    trailers = dict(err.value.trailing_metadata())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert (status.code, status.message) == (7, "no way\r\n100% ☺")
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    assert status.details[0].Unpack(info) and status.details[1].Unpack(bad)
    assert (info.reason, dict(info.metadata)) == ("TEST_FAILURE", {"code": "7"})
    assert bad.field_violations[0].field == "code"


def test_error_without_details_has_no_details_trailer(channel: grpc.Channel, schema: Schema):
    with pytest.raises(grpc.RpcError) as err:
        channel.unary_unary(PATH + "Fail")(
            _cls(schema, "FailRequest")(code=5, message="gone").SerializeToString()
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "grpc-status-details-bin" not in dict(err.value.trailing_metadata())


def test_deadline_exceeded_cancels_the_handler(channel: grpc.Channel, schema: Schema):
    slow = _cls(schema, "EchoRequest")(message="slow", delay_ms=5000).SerializeToString()
    with pytest.raises(grpc.RpcError) as err:
        channel.unary_unary(PATH + "Echo")(slow, timeout=0.2)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # The connection survives: the next call on it works.
    ok = channel.unary_unary(PATH + "Echo")(
        _cls(schema, "EchoRequest")(message="x").SerializeToString(), timeout=10
    )
    assert _cls(schema, "EchoResponse").FromString(ok).message == "x"


def test_unknown_method_is_unimplemented(channel: grpc.Channel):
    with pytest.raises(grpc.RpcError) as err:
        channel.unary_unary("/rpcctl.test.v1.TestService/Nope")(b"", timeout=10)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_gzip_both_ways(threaded: Server, schema: Schema):
    req = _cls(schema, "EchoRequest")(message="z" * 50_000)
    with grpc.insecure_channel(threaded.address, compression=grpc.Compression.Gzip) as ch:
        raw = ch.unary_unary(PATH + "Echo")(req.SerializeToString(), timeout=10)
    assert _cls(schema, "EchoResponse").FromString(raw).message == "z" * 50_000


def test_message_over_the_limit_is_resource_exhausted(channel: grpc.Channel, schema: Schema):
    big = _cls(schema, "EchoRequest")(message="q" * (4 * 1024 * 1024 + 10)).SerializeToString()
    with pytest.raises(grpc.RpcError) as err:
        channel.unary_unary(PATH + "Echo")(big, timeout=10)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
