"""Connect, gRPC and gRPC-Web conformance, as the `connectrpc` package's client sees it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.protocol import ProtocolType
from google.rpc import error_details_pb2

from rpcctl.schema.registry import Schema
from rpcctl.server.serve import Server
from tests.support.connectrpc_client import PROTOCOL_HTTP, connectrpc_client

SERVICE = "rpcctl.test.v1.TestService"


def _method(schema: Schema, name: str, kind: StreamType) -> MethodInfo:
    desc = schema.pool.FindServiceByName(SERVICE).FindMethodByName(name)
    return MethodInfo(
        name=name,
        service_name=SERVICE,
        input=schema.message_class(desc.input_type),
        output=schema.message_class(desc.output_type),
        idempotency_level=IdempotencyLevel.NO_SIDE_EFFECTS if name == "Lookup" else IdempotencyLevel.UNKNOWN,
        stream_type=kind,
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("codec", ["proto", "json"])
@pytest.mark.parametrize(("protocol", "http"), PROTOCOL_HTTP)
async def test_unary_and_server_stream(server: Server, schema: Schema, protocol, http, codec):
    echo = _method(schema, "Echo", StreamType.UNARY)
    count = _method(schema, "Count", StreamType.SERVER_STREAM)
    async with connectrpc_client(server.url, protocol, http, codec) as client:
        res = await client.execute_unary(
            request=echo.input(message="x" * 5000), method=echo, headers={"x-test": "1"}
        )
        assert res.message == "x" * 5000  # large enough to be gzipped both ways
        assert "x-test: 1" in res.headers
        stream = client.execute_server_stream(request=count.input(count=3), method=count)
        assert [r.n async for r in stream] == [1, 2, 3]


@pytest.mark.asyncio
@pytest.mark.parametrize(("protocol", "http"), PROTOCOL_HTTP)
async def test_client_stream_and_error_details(server: Server, schema: Schema, protocol, http):
    sum_m = _method(schema, "Sum", StreamType.CLIENT_STREAM)
    fail = _method(schema, "Fail", StreamType.UNARY)

    async def numbers() -> AsyncIterator[Any]:
        for n in (40, 2):
            yield sum_m.input(n=n)

    async with connectrpc_client(server.url, protocol, http) as client:
        res = await client.execute_client_stream(request=numbers(), method=sum_m)
        assert (res.total, res.messages) == (42, 2)
        with pytest.raises(ConnectError) as err:
            await client.execute_unary(
                request=fail.input(code=5, message="gone", with_details=True), method=fail
            )
    assert (err.value.code, err.value.message) == (Code.NOT_FOUND, "gone")
    assert [d.type_name for d in err.value.details] == ["google.rpc.ErrorInfo", "google.rpc.BadRequest"]
    info = error_details_pb2.ErrorInfo.FromString(err.value.details[0].message_bytes)
    assert dict(info.metadata) == {"code": "5"}


@pytest.mark.asyncio
@pytest.mark.parametrize(("protocol", "http"), PROTOCOL_HTTP)
async def test_stream_error_after_messages(server: Server, schema: Schema, protocol, http):
    count = _method(schema, "Count", StreamType.SERVER_STREAM)
    got = []
    async with connectrpc_client(server.url, protocol, http) as client:
        with pytest.raises(ConnectError) as err:
            async for r in client.execute_server_stream(
                request=count.input(count=2, fail_code=10), method=count
            ):
                got.append(r.n)
    assert got == [1, 2]
    assert err.value.code == Code.ABORTED


@pytest.mark.asyncio
@pytest.mark.parametrize(("protocol", "http"), PROTOCOL_HTTP)
async def test_deadline(server: Server, schema: Schema, protocol, http):
    echo = _method(schema, "Echo", StreamType.UNARY)
    async with connectrpc_client(server.url, protocol, http) as client:
        with pytest.raises(ConnectError) as err:
            await client.execute_unary(
                request=echo.input(message="s", delay_ms=3000), method=echo, timeout_ms=200
            )
    assert err.value.code == Code.DEADLINE_EXCEEDED


@pytest.mark.asyncio
@pytest.mark.parametrize("http", ["h1", "h2c"])
@pytest.mark.parametrize("codec", ["proto", "json"])
async def test_connect_get(server: Server, schema: Schema, http, codec):
    lookup = _method(schema, "Lookup", StreamType.UNARY)
    async with connectrpc_client(server.url, ProtocolType.CONNECT, http, codec) as client:
        res = await client.execute_unary(request=lookup.input(message="g"), method=lookup, use_get=True)
    assert res.message == "g"


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", [ProtocolType.CONNECT, ProtocolType.GRPC, ProtocolType.GRPC_WEB])
async def test_bidi_full_duplex_over_h2c(server: Server, schema: Schema, protocol):
    chat = _method(schema, "Chat", StreamType.BIDI_STREAM)
    turn = asyncio.Event()

    async def requests() -> AsyncIterator[Any]:
        for word in ("a", "b", "c"):
            yield chat.input(message=word)
            await turn.wait()  # the answer to this one must come before the next request
            turn.clear()

    seen = []
    async with asyncio.timeout(20), connectrpc_client(server.url, protocol, "h2c") as client:
        async for res in client.execute_bidi_stream(request=requests(), method=chat):
            seen.append((res.message, res.seq))
            turn.set()
    assert seen == [("a", 1), ("b", 2), ("c", 3)]


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", [ProtocolType.CONNECT, ProtocolType.GRPC_WEB])
async def test_bidi_half_duplex_over_http1(server: Server, schema: Schema, protocol):
    chat = _method(schema, "Chat", StreamType.BIDI_STREAM)

    async def requests() -> AsyncIterator[Any]:
        for word in ("a", "b"):
            yield chat.input(message=word)

    async with asyncio.timeout(20), connectrpc_client(server.url, protocol, "h1") as client:
        stream = client.execute_bidi_stream(request=requests(), method=chat)
        assert [(r.message, r.seq) async for r in stream] == [("a", 1), ("b", 2)]
