"""The interop peers answer, as seen by clients nobody here wrote (no rpcctl code).

grpcio (native gRPC, raw bytes), the connectrpc Python client (Connect, gRPC, gRPC-Web over
HTTP/1.1 and h2c) and httpx (raw Connect JSON, compression). `buf curl`: test_peers_buf_curl.py.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.protocol import ProtocolType
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2
from interop_schema import KITCHEN, RUNNER_SERVICE, TEST_SERVICE, Schema, load_schema

from tests.support.connectrpc_client import PROTOCOL_HTTP, connectrpc_client

pytestmark = pytest.mark.interop

PEERS = ["node_peer", "connect_python_peer"]


@pytest.fixture(scope="module")
def schema(test_descriptor_set: Path) -> Schema:
    return load_schema(test_descriptor_set)


@pytest.fixture(params=PEERS)
def peer(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


def _path(method: str, service: str = TEST_SERVICE) -> str:
    return f"/{service}/{method}"


# --- grpcio: native gRPC over HTTP/2, raw bytes --------------------------------------------


@pytest.fixture
def channel(peer: Any) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(peer.host) as ch:
        yield ch


def test_grpcio_unary_echoes_message_metadata_and_kitchen(channel: grpc.Channel, schema: Schema):
    req_t, res_t = schema.method_types(TEST_SERVICE, "Echo")
    req = req_t(message="hi")
    json_format.ParseDict(KITCHEN, req.kitchen, descriptor_pool=schema.pool)
    call = channel.unary_unary(_path("Echo"))
    raw = call(
        req.SerializeToString(),
        metadata=[("x-test", "v"), ("x-dup", "1"), ("x-dup", "2"), ("x-test-bin", b"\x00\x01")],
        timeout=10,
    )
    res = res_t.FromString(raw)
    assert res.message == "hi"
    assert res.kitchen == req.kitchen
    assert "x-test: v" in res.headers
    assert "content-type: application/grpc" in res.headers
    dups = [h for h in res.headers if h.startswith("x-dup:")]
    assert dups in (["x-dup: 1", "x-dup: 2"], ["x-dup: 1, 2"])
    (binary,) = [h for h in res.headers if h.startswith("x-test-bin: ")]
    assert binary.removeprefix("x-test-bin: ").rstrip("=") == "AAE"


def test_grpcio_server_stream_then_failure_status(channel: grpc.Channel, schema: Schema):
    req_t, res_t = schema.method_types(TEST_SERVICE, "Count")
    call = channel.unary_stream(_path("Count"))
    stream = call(req_t(count=3, fail_code=9).SerializeToString(), timeout=10)
    got = []
    with pytest.raises(grpc.RpcError) as err:
        got.extend(res_t.FromString(raw).n for raw in stream)
    assert got == [1, 2, 3]
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_grpcio_client_stream_sums(channel: grpc.Channel, schema: Schema):
    req_t, res_t = schema.method_types(TEST_SERVICE, "Sum")
    call = channel.stream_unary(_path("Sum"))
    res = res_t.FromString(call(iter([req_t(n=n).SerializeToString() for n in (1, 2, 39)])))
    assert (res.total, res.messages) == (42, 3)


def test_grpcio_bidi_is_full_duplex(channel: grpc.Channel, schema: Schema):
    req_t, res_t = schema.method_types(TEST_SERVICE, "Chat")
    outbox: queue.Queue[bytes | None] = queue.Queue()

    def requests() -> Iterator[bytes]:
        while (item := outbox.get(timeout=10)) is not None:
            yield item

    responses = channel.stream_stream(_path("Chat"))(requests(), timeout=20)
    seen = []
    for word in ("a", "b", "c"):
        outbox.put(req_t(message=word).SerializeToString())
        # The next request is only sent once this answer is in: a half-duplex peer would hang.
        res = res_t.FromString(next(responses))
        seen.append((res.message, res.seq))
    outbox.put(None)
    assert list(responses) == []
    assert seen == [("a", 1), ("b", 2), ("c", 3)]


def test_grpcio_failure_carries_error_details(channel: grpc.Channel, schema: Schema):
    req_t, _ = schema.method_types(TEST_SERVICE, "Fail")
    call = channel.unary_unary(_path("Fail"))
    req = req_t(code=7, message="no way", with_details=True)
    with pytest.raises(grpc.RpcError) as err:
        call(req.SerializeToString(), timeout=10)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert err.value.details() == "no way"
    trailers = dict(err.value.trailing_metadata())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    assert status.details[0].Unpack(info) and status.details[1].Unpack(bad)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "TEST_FAILURE",
        "rpcctl.test",
        {"code": "7"},
    )
    assert bad.field_violations[0].field == "code"


def test_grpcio_deadline_exceeded(channel: grpc.Channel, schema: Schema):
    req_t, _ = schema.method_types(TEST_SERVICE, "Echo")
    call = channel.unary_unary(_path("Echo"))
    with pytest.raises(grpc.RpcError) as err:
        call(req_t(message="slow", delay_ms=5000).SerializeToString(), timeout=0.2)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


# --- connectrpc's Python client: Connect / gRPC / gRPC-Web × HTTP/1.1 / h2c ------------------


def _method(schema: Schema, name: str, kind: StreamType, service: str = TEST_SERVICE) -> MethodInfo:
    req_t, res_t = schema.method_types(service, name)
    level = IdempotencyLevel.NO_SIDE_EFFECTS if name == "Lookup" else IdempotencyLevel.UNKNOWN
    return MethodInfo(
        name=name,
        service_name=service,
        input=req_t,
        output=res_t,
        idempotency_level=level,
        stream_type=kind,
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("codec", ["proto", "json"])
@pytest.mark.parametrize(("protocol", "http"), PROTOCOL_HTTP)
async def test_connectrpc_unary_and_server_stream(peer, schema, protocol, http, codec):
    echo = _method(schema, "Echo", StreamType.UNARY)
    count = _method(schema, "Count", StreamType.SERVER_STREAM)
    async with connectrpc_client(peer.base_url, protocol, http, codec) as client:
        res = await client.execute_unary(
            request=echo.input(message="x" * 5000), method=echo, headers={"x-test": "1"}
        )
        assert res.message == "x" * 5000  # large enough for the peers to gzip it
        assert "x-test: 1" in res.headers
        stream = client.execute_server_stream(request=count.input(count=3), method=count)
        assert [r.n async for r in stream] == [1, 2, 3]


@pytest.mark.asyncio
@pytest.mark.parametrize(("protocol", "http"), PROTOCOL_HTTP)
async def test_connectrpc_client_stream_and_error_details(peer, schema, protocol, http):
    sum_m = _method(schema, "Sum", StreamType.CLIENT_STREAM)
    fail = _method(schema, "Fail", StreamType.UNARY)

    async def numbers() -> AsyncIterator[Any]:
        for n in (40, 2):
            yield sum_m.input(n=n)

    async with connectrpc_client(peer.base_url, protocol, http) as client:
        res = await client.execute_client_stream(request=numbers(), method=sum_m)
        assert (res.total, res.messages) == (42, 2)
        with pytest.raises(ConnectError) as err:
            req = fail.input(code=5, message="gone", with_details=True)
            await client.execute_unary(request=req, method=fail)
    assert (err.value.code, err.value.message) == (Code.NOT_FOUND, "gone")
    info = error_details_pb2.ErrorInfo.FromString(err.value.details[0].message_bytes)
    assert [d.type_name for d in err.value.details] == [
        "google.rpc.ErrorInfo",
        "google.rpc.BadRequest",
    ]
    assert dict(info.metadata) == {"code": "5"}


@pytest.mark.asyncio
@pytest.mark.parametrize("http", ["h1", "h2c"])
async def test_connectrpc_connect_get(peer, schema, http):
    lookup = _method(schema, "Lookup", StreamType.UNARY)
    async with connectrpc_client(peer.base_url, ProtocolType.CONNECT, http, "json") as client:
        res = await client.execute_unary(request=lookup.input(message="g"), method=lookup, use_get=True)
    assert res.message == "g"


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", [ProtocolType.CONNECT, ProtocolType.GRPC, ProtocolType.GRPC_WEB])
async def test_connectrpc_bidi_full_duplex_over_h2c(peer, schema, protocol):
    chat = _method(schema, "Chat", StreamType.BIDI_STREAM)
    turn = asyncio.Event()

    async def requests() -> AsyncIterator[Any]:
        for word in ("a", "b", "c"):
            yield chat.input(message=word)
            await turn.wait()  # the answer to this one must come before the next request
            turn.clear()

    seen = []
    async with asyncio.timeout(20):
        async with connectrpc_client(peer.base_url, protocol, "h2c") as client:
            async for res in client.execute_bidi_stream(request=requests(), method=chat):
                seen.append((res.message, res.seq))
                turn.set()
    assert seen == [("a", 1), ("b", 2), ("c", 3)]


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", [ProtocolType.CONNECT, ProtocolType.GRPC_WEB])
async def test_connectrpc_bidi_over_http1(peer, schema, protocol):
    """connect-node refuses bidi over HTTP/1.1 (505); hypercorn + connect-python serves it."""
    chat = _method(schema, "Chat", StreamType.BIDI_STREAM)

    async def requests() -> AsyncIterator[Any]:
        for word in ("a", "b"):
            yield chat.input(message=word)

    async with asyncio.timeout(20), connectrpc_client(peer.base_url, protocol, "h1") as client:
        stream = client.execute_bidi_stream(request=requests(), method=chat)
        if peer.name == "node":
            with pytest.raises(ConnectError, match="HTTP Version Not Supported"):
                [r async for r in stream]
        else:
            assert [(r.message, r.seq) async for r in stream] == [("a", 1), ("b", 2)]


@pytest.mark.asyncio
@pytest.mark.parametrize("http", ["h1", "h2c"])
async def test_connectrpc_runner_service_under_prefix(node_peer, schema, http):
    ping = _method(schema, "Ping", StreamType.UNARY, RUNNER_SERVICE)
    async with connectrpc_client(node_peer.runner_base_url, ProtocolType.CONNECT, http) as client:
        res = await client.execute_unary(request=ping.input(data="pong"), method=ping)
    assert res.data == "pong"


# --- httpx: raw Connect JSON (the peers' own JSON codecs, Any included) and gzip -----------


@pytest.mark.parametrize("http2", [False, True], ids=["h1", "h2c"])
def test_raw_connect_json_kitchen_roundtrip_and_gzip(peer, schema, http2):
    kitchen_t = schema.message("rpcctl.test.v1.Kitchen")
    body = {"message": "y" * 4096, "kitchen": KITCHEN}
    with httpx.Client(http1=not http2, http2=http2, timeout=20) as client:
        res = client.post(
            peer.base_url + _path("Echo"),
            json=body,
            headers={"accept-encoding": "gzip", "content-type": "application/json"},
        )
    assert res.status_code == 200, res.text
    assert res.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
    assert res.headers["content-encoding"] == "gzip"
    got = res.json()
    assert got["message"] == body["message"]
    want = json_format.ParseDict(KITCHEN, kitchen_t(), descriptor_pool=schema.pool)
    back = json_format.ParseDict(got["kitchen"], kitchen_t(), descriptor_pool=schema.pool)
    assert back == want
