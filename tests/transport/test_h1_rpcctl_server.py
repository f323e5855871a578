"""`H1Exchange` against rpcctl's own server: Connect (JSON) over HTTP/1.1, every body shape.

The server (hypercorn underneath) is the same one `rpcctl serve` runs; these tests check the
bytes the exchange delivers, decoded by hand, so they do not depend on the call layer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from rpcctl.protocols.exchange import RequestHead
from rpcctl.schema.registry import Schema
from rpcctl.server.serve import Server
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.exchange import Exchange
from rpcctl.transport.lean_h1 import H1Pool
from rpcctl.wire.envelope import FLAG_END_STREAM, EnvelopeReader, encode_envelope
from tests.server.conftest import full_table
from tests.support.schema import compile_test_schema

LIMIT = 20.0
SERVICE = "/rpcctl.test.v1.TestService"
STREAM_JSON = (("content-type", "application/connect+json"), ("connect-protocol-version", "1"))


@pytest.fixture(scope="module")
def schema() -> Schema:
    return compile_test_schema()


@pytest_asyncio.fixture
async def pool(schema: Schema) -> AsyncIterator[H1Pool]:
    async with Server(full_table(schema), schema=schema) as served:
        h1 = H1Pool(Endpoint("127.0.0.1", served.port))
        try:
            yield h1
        finally:
            await h1.aclose()


async def envelopes(
    exchange: Exchange, reader: EnvelopeReader | None = None
) -> list[tuple[int, dict[str, object]]]:
    reader = reader or EnvelopeReader(allowed_flags=FLAG_END_STREAM)
    out = []
    for _ in range(1000):
        chunk = await exchange.read()
        if chunk is None:
            return out
        out += [(e.flags, json.loads(e.data)) for e in reader.feed(chunk)]
    raise AssertionError("body did not end")


@pytest.mark.asyncio
async def test_connect_unary_json(pool: H1Pool) -> None:
    head = RequestHead(
        "POST", f"{SERVICE}/Echo", (("content-type", "application/json"), ("connect-protocol-version", "1"))
    )
    async with asyncio.timeout(LIMIT):
        exchange = await pool.open(head, host="127.0.0.1", body=b'{"message": "hi"}')
        status, headers = await exchange.response()
        parts = []
        while (chunk := await exchange.read()) is not None:
            parts.append(chunk)
        await exchange.aclose()
    assert status == 200
    assert headers.get("x-echo-initial") == "yes"
    assert headers.get("trailer-x-echo-trailer") == "done"
    assert json.loads(b"".join(parts))["message"] == "hi"


@pytest.mark.asyncio
async def test_connect_client_stream_chunked(pool: H1Pool) -> None:
    async with asyncio.timeout(LIMIT):
        exchange = await pool.open(RequestHead("POST", f"{SERVICE}/Sum", STREAM_JSON), host="h", body=None)
        for n in (1, 2, 3):
            await exchange.write(encode_envelope(json.dumps({"n": n}).encode()))
        await exchange.end()
        status, _ = await exchange.response()
        got = await envelopes(exchange)
        await exchange.aclose()
    assert status == 200
    assert got[0] == (0, {"total": "6", "messages": 3})
    assert got[-1][0] == FLAG_END_STREAM


@pytest.mark.asyncio
async def test_connect_server_stream_arrives_incrementally(pool: H1Pool) -> None:
    body = encode_envelope(b'{"count": 3, "intervalMs": 300}')
    async with asyncio.timeout(LIMIT):
        exchange = await pool.open(RequestHead("POST", f"{SERVICE}/Count", STREAM_JSON), host="h", body=body)
        status, _ = await exchange.response()
        reader = EnvelopeReader(allowed_flags=FLAG_END_STREAM)
        first: list[object] = []
        for _ in range(100):  # the first message comes long before the stream ends
            chunk = await exchange.read()
            assert chunk is not None
            first = [json.loads(e.data) for e in reader.feed(chunk)]
            if first:
                break
        assert exchange.timings.ended is None  # still streaming
        rest = await envelopes(exchange, reader)
        await exchange.aclose()
    assert status == 200
    assert first == [{"n": 1}]
    assert [m for _, m in rest] == [{"n": 2}, {"n": 3}, {}]
