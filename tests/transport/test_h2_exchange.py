"""`H2Exchange` (the `Exchange` seam over rpcctl's HTTP/2 frame layer) against rpcctl's own server.

Connect streaming requests with JSON messages, so each check reads the messages themselves:
unary, server stream, client stream, bidi (full duplex), TLS with ALPN, a unix socket.
Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from rpcctl.errors import TransportError
from rpcctl.protocols.exchange import RequestHead
from rpcctl.server.serve import Server
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.lean_h2 import H2Client, H2Exchange
from rpcctl.wire.envelope import EnvelopeReader, encode_envelope
from tests.server.conftest import full_table
from tests.support.schema import compile_test_schema

LIMIT = 10.0
SERVICE = "/rpcctl.test.v1.TestService/"
STREAM = (("content-type", "application/connect+json"),)


def head(method: str) -> RequestHead:
    return RequestHead("POST", SERVICE + method, STREAM)


def message(value: dict[str, Any]) -> bytes:
    return encode_envelope(json.dumps(value).encode())


class Messages:
    """Reads Connect envelopes off an exchange: messages, then the end-of-stream JSON."""

    def __init__(self, exchange: H2Exchange) -> None:
        self.exchange = exchange
        self.reader = EnvelopeReader(allowed_flags=0x03)  # compressed, Connect end-stream
        self.ready: list[tuple[int, bytes]] = []

    async def next(self) -> tuple[int, dict[str, Any]]:
        while not self.ready:
            chunk = await self.exchange.read()
            assert chunk is not None, "the body ended before a message"
            self.ready += [(envelope.flags, envelope.data) for envelope in self.reader.feed(chunk)]
        flags, data = self.ready.pop(0)
        return flags, json.loads(data)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[Server]:
    schema = compile_test_schema()
    async with Server(full_table(schema), schema=schema) as served:
        yield served


def client_for(server: Server) -> H2Client:
    return H2Client(Endpoint("127.0.0.1", server.port))


@pytest.mark.asyncio
async def test_unary_with_a_whole_body(server: Server) -> None:
    client = client_for(server)
    try:
        async with asyncio.timeout(LIMIT):
            unary = RequestHead("POST", SERVICE + "Echo", (("content-type", "application/json"),))
            exchange = await client.open(unary, scheme="http", authority="x", body=b'{"message":"hi"}')
            status, headers = await exchange.response()
            body = b""
            while (chunk := await exchange.read()) is not None:
                body += chunk
            await exchange.aclose()
    finally:
        await client.aclose()
    assert exchange.http_version == "HTTP/2"
    assert status == 200
    assert headers.get("content-type") == "application/json"
    assert json.loads(body)["message"] == "hi"
    timings = exchange.timings
    assert timings.connect_start is not None and timings.connected is not None
    assert timings.request_sent is not None and timings.first_byte is not None and timings.ended is not None


@pytest.mark.asyncio
async def test_server_stream_and_client_stream(server: Server) -> None:
    client = client_for(server)
    try:
        async with asyncio.timeout(LIMIT):
            count = await client.open(head("Count"), scheme="http", authority="x", body=message({"count": 3}))
            assert (await count.response())[0] == 200
            messages = Messages(count)
            assert [await messages.next() for _ in range(3)] == [(0, {"n": n}) for n in (1, 2, 3)]
            flags, _ = await messages.next()
            assert flags == 2  # end of stream
            assert await count.read() is None
            await count.aclose()

            total = await client.open(head("Sum"), scheme="http", authority="x", body=None)
            for n in (1, 2, 3, 4):
                await total.write(message({"n": n}))
            await total.end()
            assert (await total.response())[0] == 200
            assert (await Messages(total).next())[1] == {"total": "10", "messages": 4}
            second = total.timings
            await total.aclose()
    finally:
        await client.aclose()
    assert count.timings.connect_start is not None  # the first exchange opened the connection
    assert second.connect_start is None  # the second reused it
    assert client.connections_opened == 1


@pytest.mark.asyncio
async def test_bidi_is_full_duplex(server: Server) -> None:
    client = client_for(server)
    try:
        async with asyncio.timeout(LIMIT):
            chat = await client.open(head("Chat"), scheme="http", authority="x", body=None)
            await chat.write(message({"message": "one"}))
            messages = Messages(chat)
            # The first answer is read before the second request exists.
            assert (await messages.next())[1]["message"] == "one"
            await chat.write(message({"message": "two"}))
            assert (await messages.next())[1]["message"] == "two"
            await chat.end()
            assert (await messages.next())[0] == 2
            assert await chat.read() is None
            await chat.aclose()
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_tls_with_alpn_and_a_unix_socket(certs: Any, tmp_path: Path) -> None:
    schema = compile_test_schema()
    context = ssl.create_default_context(cafile=str(certs.cert))
    context.set_alpn_protocols(["h2", "http/1.1"])
    async with Server(full_table(schema), schema=schema, certfile=certs.cert, keyfile=certs.key) as tls:
        client = H2Client(Endpoint("127.0.0.1", tls.port, ssl_context=context, server_hostname="localhost"))
        try:
            async with asyncio.timeout(LIMIT):
                count = await client.open(
                    head("Count"), scheme="https", authority="x", body=message({"count": 1})
                )
                assert (await Messages(count).next())[1] == {"n": 1}
                await count.aclose()
        finally:
            await client.aclose()
        assert count.timings.tls_done is not None
    path = str(tmp_path / "s.sock")
    async with Server(full_table(schema), listen=f"unix:{path}", schema=schema):
        client = H2Client(Endpoint(unix_path=path))
        try:
            async with asyncio.timeout(LIMIT):
                count = await client.open(
                    head("Count"), scheme="http", authority="localhost", body=message({"count": 2})
                )
                messages = Messages(count)
                assert [await messages.next() for _ in range(2)] == [(0, {"n": 1}), (0, {"n": 2})]
                await count.aclose()
        finally:
            await client.aclose()


@pytest.mark.asyncio
async def test_h2c_to_a_tls_port_says_to_use_https(certs: Any) -> None:
    schema = compile_test_schema()
    async with Server(full_table(schema), schema=schema, certfile=certs.cert, keyfile=certs.key) as tls:
        client = H2Client(Endpoint("127.0.0.1", tls.port))
        try:
            with pytest.raises(TransportError) as caught:
                async with asyncio.timeout(LIMIT):
                    await client.open(head("Count"), scheme="http", authority="x", body=b"")
        finally:
            await client.aclose()
    assert "use https://" in str(caught.value)
