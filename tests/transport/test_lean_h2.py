"""The lean HTTP/2 client (`rpcctl.transport.lean_h2`) against rpcctl's server and a scripted h2 server.

Every wait is bounded: a broken or refusing server must end a call with an error, not a hang.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import h2.errors
import pytest
import pytest_asyncio

from rpcctl.bench.invoker import ChannelInvoker
from rpcctl.call import MethodInfo
from rpcctl.cli.options import channel_settings
from rpcctl.errors import RpcError
from rpcctl.schema.registry import CallKind
from rpcctl.server.serve import Server
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.lean_h2 import H2Client, H2Limits
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code
from tests.server.conftest import full_table
from tests.support.schema import compile_test_schema
from tests.transport.servers import H2Exchange, H2Server

LIMIT = 10.0  # seconds: no test waits longer
ECHO = MethodInfo("/rpcctl.test.v1.TestService/Echo", CallKind.UNARY)
FAIL = MethodInfo("/rpcctl.test.v1.TestService/Fail", CallKind.UNARY)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[Server]:
    schema = compile_test_schema()
    async with Server(full_table(schema), schema=schema) as served:
        yield served


def invoker(
    url: str, method: MethodInfo = ECHO, timeout: float | None = None, **options: Any
) -> ChannelInvoker:
    settings = channel_settings(url, **{"protocol": "connect", "codec": "json", "http2": True, **options})
    return ChannelInvoker(settings, method, Metadata(), timeout)


def h2_client(call: ChannelInvoker) -> H2Client:
    """The HTTP/2 client under a bench invoker's channel (open once a call was made)."""
    client = call.channel.pool._h2
    assert client is not None
    return client


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("protocol", "codec"), [("connect", "json"), ("connect", "proto"), ("grpc-web", "proto")]
)
async def test_ok_calls_share_one_connection(server: Server, protocol: str, codec: str) -> None:
    call = invoker(server.url, protocol=protocol, codec=codec)
    request = b'{"message":"hi"}' if codec == "json" else b"\x0a\x02hi"
    try:
        async with asyncio.timeout(LIMIT):
            await asyncio.gather(*(call.unary(request, None) for _ in range(20)))
            await call.unary(request, Metadata([("x-seq", "1")]))
        client = h2_client(call)
    finally:
        await call.aclose()
    assert client.connections_opened == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["connect", "grpc-web"])
async def test_fail_codes_and_messages(server: Server, protocol: str) -> None:
    call = invoker(server.url, FAIL, protocol=protocol, codec="json")
    try:
        for number, code in ((5, Code.NOT_FOUND), (7, Code.PERMISSION_DENIED), (14, Code.UNAVAILABLE)):
            request = b'{"code":%d,"message":"m%d"}' % (number, number)
            with pytest.raises(RpcError) as caught:
                async with asyncio.timeout(LIMIT):
                    await call.unary(request, None)
            assert caught.value.code is code
            assert caught.value.message == f"m{number}"
    finally:
        await call.aclose()


@pytest.mark.asyncio
async def test_deadline_resets_the_stream_and_the_connection_stays(server: Server) -> None:
    call = invoker(server.url, timeout=0.2)
    try:
        with pytest.raises(RpcError) as caught:
            async with asyncio.timeout(LIMIT):
                await call.unary(b'{"message":"slow","delayMs":3000}', None)
        assert caught.value.code is Code.DEADLINE_EXCEEDED
        async with asyncio.timeout(LIMIT):
            await call.unary(b'{"message":"fast"}', None)
        client = h2_client(call)
    finally:
        await call.aclose()
    assert client.connections_opened == 1


@pytest.mark.asyncio
async def test_more_calls_than_max_concurrent_streams_queue_on_one_connection(server: Server) -> None:
    call = invoker(server.url)
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*(call.unary(b'{"message":"q","delayMs":100}', None) for _ in range(250)))
        client = h2_client(call)
        conn = client._conn
        assert conn is not None
        assert conn._max_streams <= 1000  # the server announced a limit (hypercorn: 100)
    finally:
        await call.aclose()
    assert client.connections_opened == 1


HEADERS = [(b":method", b"POST"), (b":scheme", b"http"), (b":authority", b"x"), (b":path", b"/s/M")]


async def one(handler: object, limits: H2Limits | None = None) -> RpcError:
    async def serve(exchange: H2Exchange) -> None:
        while await exchange.data.get() is not None:
            pass
        await handler(exchange)  # type: ignore[operator]

    async with H2Server(serve).running() as h2server:
        client = H2Client(Endpoint("127.0.0.1", h2server.port), limits=limits)
        try:
            with pytest.raises(RpcError) as caught:
                async with asyncio.timeout(LIMIT):
                    await client.request(HEADERS, b"{}")
        finally:
            await client.aclose()
    return caught.value


@pytest.mark.asyncio
async def test_rst_stream_maps_to_a_code() -> None:
    async def refuse(exchange: H2Exchange) -> None:
        await exchange.reset(h2.errors.ErrorCodes.REFUSED_STREAM)

    async def calm(exchange: H2Exchange) -> None:
        await exchange.reset(h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)

    assert (await one(refuse)).code is Code.UNAVAILABLE
    assert (await one(calm)).code is Code.RESOURCE_EXHAUSTED


@pytest.mark.asyncio
async def test_goaway_ends_the_call_with_unavailable() -> None:
    async def goaway(exchange: H2Exchange) -> None:
        exchange.server.conn.close_connection(h2.errors.ErrorCodes.INTERNAL_ERROR)
        await exchange.server.flush()

    async def graceful_refusal(exchange: H2Exchange) -> None:
        exchange.server.conn.close_connection(h2.errors.ErrorCodes.NO_ERROR, last_stream_id=0)
        await exchange.server.flush()

    assert (await one(goaway)).code is Code.UNAVAILABLE
    assert (await one(graceful_refusal)).code is Code.UNAVAILABLE  # retried once, then given up


@pytest.mark.asyncio
async def test_connection_closed_mid_call_and_oversized_body() -> None:
    async def hang_up(exchange: H2Exchange) -> None:
        assert exchange.server._writer is not None
        exchange.server._writer.transport.abort()

    async def big(exchange: H2Exchange) -> None:
        await exchange.respond([("content-type", "application/json")])
        await exchange.send(b"x" * 5000, end=True)

    assert (await one(hang_up)).code is Code.UNAVAILABLE
    assert (await one(big, H2Limits(max_body=1000))).code is Code.RESOURCE_EXHAUSTED
