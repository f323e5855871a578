"""`H1Pool.open` / `H1Exchange` against hypercorn (a real HTTP/1.1 server) and scripted peers.

Contract-style: each test drives the `Exchange` seam (write, end, response, read, trailers,
aclose) and checks what the server got and what came back, byte for byte.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from rpcctl.errors import RpcError
from rpcctl.protocols.exchange import RequestHead
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.exchange import Exchange
from rpcctl.transport.h1_exchange import READ_BUFFER_HIGH
from rpcctl.transport.lean_h1 import H1Exchange, H1Pool
from rpcctl.wire.status import Code
from tests.conftest import Certs
from tests.transport.h1_peers import hypercorn_server

LIMIT = 20.0  # seconds: no test waits longer
MIB = 1024 * 1024


async def read_all(exchange: Exchange, *, max_chunks: int = 100_000) -> bytes:
    parts = []
    for _ in range(max_chunks):
        chunk = await exchange.read()
        if chunk is None:
            return b"".join(parts)
        parts.append(chunk)
    raise AssertionError("body did not end")


def post(path: str, *headers: tuple[str, str]) -> RequestHead:
    return RequestHead("POST", path, (("content-type", "application/proto"), *headers))


@pytest_asyncio.fixture
async def h1_port() -> AsyncIterator[int]:
    async with hypercorn_server() as port:
        yield port


@pytest.mark.asyncio
async def test_unary_post_with_content_length(h1_port: int) -> None:
    pool = H1Pool(Endpoint("127.0.0.1", h1_port))
    try:
        async with asyncio.timeout(LIMIT):
            exchange: Exchange = await pool.open(post("/p/s/M", ("x-a", "1")), host="example", body=b"hi!")
            assert exchange.http_version == "HTTP/1.1"
            status, headers = await exchange.response()
            body = await read_all(exchange)
            await exchange.aclose()
    finally:
        await pool.aclose()
    assert status == 200
    assert headers.get("content-length") == str(len(body))
    lines = body.decode().split("\n")
    assert lines[0] == "POST /p/s/M"
    assert "host: example" in lines
    assert "content-length: 3" in lines
    assert "x-a: 1" in lines
    assert exchange.trailers.items() == []
    t = exchange.timings
    assert t.connect_start is not None and t.connected is not None and t.tls_done is None
    assert t.request_sent is not None and t.first_byte is not None and t.ended is not None
    assert t.connect_start <= t.connected <= t.request_sent <= t.first_byte <= t.ended


@pytest.mark.asyncio
async def test_get_sends_no_content_length(h1_port: int) -> None:
    pool = H1Pool(Endpoint("127.0.0.1", h1_port))
    try:
        async with asyncio.timeout(LIMIT):
            exchange = await pool.open(
                RequestHead("GET", "/s/M?message=e30&encoding=json"), host="h", body=None
            )
            status, _ = await exchange.response()
            body = (await read_all(exchange)).decode()
            await exchange.aclose()
    finally:
        await pool.aclose()
    assert status == 200
    assert body.startswith("GET /s/M?message=e30&encoding=json\n")
    assert "content-length" not in body
    assert "transfer-encoding" not in body


@pytest.mark.asyncio
async def test_chunked_request_streams_while_the_server_answers(h1_port: int) -> None:
    pool = H1Pool(Endpoint("127.0.0.1", h1_port))
    try:
        async with asyncio.timeout(LIMIT):
            exchange = await pool.open(post("/echo"), host="h", body=None)
            await exchange.write(b"one")
            status, headers = await exchange.response()  # before the request body ended
            assert status == 200
            assert headers.get("transfer-encoding") == "chunked"
            assert await exchange.read() == b"one"
            await exchange.write(b"")  # an empty write is no chunk (it would end the body)
            await exchange.write(b"two")
            assert await exchange.read() == b"two"
            await exchange.end()
            assert await exchange.read() is None
            await exchange.aclose()
            # The exchange completed both ways: its connection serves the next one.
            again = await pool.open(post("/count"), host="h", body=b"12345")
            await again.response()
            assert await read_all(again) == b"5"
            await again.aclose()
    finally:
        await pool.aclose()
    assert pool.connections_opened == 1


@pytest.mark.asyncio
async def test_early_response_while_uploading_drops_later_writes(h1_port: int) -> None:
    pool = H1Pool(Endpoint("127.0.0.1", h1_port))
    try:
        async with asyncio.timeout(LIMIT):
            exchange = await pool.open(post("/reject"), host="h", body=None)
            await exchange.write(b"x" * 1000)
            status, _ = await exchange.response()
            assert status == 413
            assert await read_all(exchange) == b"too much"
            for _ in range(20):
                await exchange.write(b"y" * 100_000)  # dropped, never an error
            await exchange.end()
            await exchange.aclose()
            # The server never read the rest of that body: the next request gets a new connection.
            again = await pool.open(post("/count"), host="h", body=b"abc")
            await again.response()
            assert await read_all(again) == b"3"
            await again.aclose()
    finally:
        await pool.aclose()
    assert pool.connections_opened == 2


@pytest.mark.asyncio
async def test_sixteen_mib_up_streamed(h1_port: int) -> None:
    pool = H1Pool(Endpoint("127.0.0.1", h1_port))
    piece = b"u" * (256 * 1024)
    try:
        async with asyncio.timeout(LIMIT):
            exchange = await pool.open(post("/count"), host="h", body=None)
            assert isinstance(exchange, H1Exchange)
            transport = exchange._conn.transport  # white-box: what the socket still holds
            assert transport is not None
            for _ in range(16 * MIB // len(piece)):
                await exchange.write(piece)
                # write returned only once the socket took the bytes (below its high mark)
                assert transport.get_write_buffer_size() <= 64 * 1024
            await exchange.end()
            status, _ = await exchange.response()
            assert (status, await read_all(exchange)) == (200, str(16 * MIB).encode())
            await exchange.aclose()
    finally:
        await pool.aclose()


@pytest.mark.asyncio
async def test_sixteen_mib_whole_body_up(h1_port: int) -> None:
    pool = H1Pool(Endpoint("127.0.0.1", h1_port))
    try:
        async with asyncio.timeout(LIMIT):
            exchange = await pool.open(post("/count"), host="h", body=b"w" * 16 * MIB)
            await exchange.response()
            assert await read_all(exchange) == str(16 * MIB).encode()
            await exchange.aclose()
    finally:
        await pool.aclose()


@pytest.mark.asyncio
async def test_sixteen_mib_down_to_a_slow_reader_is_buffered_boundedly(h1_port: int) -> None:
    pool = H1Pool(Endpoint("127.0.0.1", h1_port))
    try:
        async with asyncio.timeout(LIMIT):
            exchange = await pool.open(RequestHead("GET", f"/bytes?n={16 * MIB}"), host="h", body=None)
            assert isinstance(exchange, H1Exchange)
            status, _ = await exchange.response()
            assert status == 200
            total = 0
            for count in range(100_000):
                if count % 16 == 0:
                    await asyncio.sleep(0.01)  # slow: the server gets ahead while we sleep
                chunk = await exchange.read()
                if chunk is None:
                    break
                total += len(chunk)
            await exchange.aclose()
    finally:
        await pool.aclose()
    assert total == 16 * MIB
    # Reading pauses past the high mark; one socket read (256 KiB at most) may land on top.
    assert exchange.peak_buffered <= READ_BUFFER_HIGH + 256 * 1024 + 64 * 1024


@pytest.mark.asyncio
async def test_unix_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "h1.sock")
    async with hypercorn_server(unix_path=path):
        pool = H1Pool(Endpoint(unix_path=path))
        try:
            async with asyncio.timeout(LIMIT):
                for _ in range(2):
                    exchange = await pool.open(post("/count"), host="localhost", body=b"four")
                    assert (await exchange.response())[0] == 200
                    assert await read_all(exchange) == b"4"
                    await exchange.aclose()
        finally:
            await pool.aclose()
    assert pool.connections_opened == 1


@pytest.mark.asyncio
async def test_tls(certs: Certs) -> None:
    context = ssl.create_default_context(cafile=str(certs.cert))
    context.set_alpn_protocols(["http/1.1"])
    async with hypercorn_server(certfile=str(certs.cert), keyfile=str(certs.key)) as port:
        pool = H1Pool(Endpoint("127.0.0.1", port, ssl_context=context, server_hostname="localhost"))
        try:
            async with asyncio.timeout(LIMIT):
                exchange = await pool.open(post("/echo"), host="localhost", body=None)
                await exchange.write(b"secret")
                assert (await exchange.response())[0] == 200
                assert await exchange.read() == b"secret"
                await exchange.end()
                assert await exchange.read() is None
                await exchange.aclose()
        finally:
            await pool.aclose()
    t = exchange.timings
    assert t.connected is not None and t.tls_done is not None and t.tls_done >= t.connected


@pytest.mark.asyncio
async def test_plaintext_to_a_tls_port_suggests_https(certs: Certs) -> None:
    async with hypercorn_server(certfile=str(certs.cert), keyfile=str(certs.key)) as port:
        pool = H1Pool(Endpoint("127.0.0.1", port))
        try:
            async with asyncio.timeout(LIMIT):
                exchange = await pool.open(post("/count"), host="h", body=b"")
                with pytest.raises(RpcError) as caught:
                    await exchange.response()
                await exchange.aclose()
        finally:
            await pool.aclose()
    assert caught.value.code is Code.UNAVAILABLE
    assert caught.value.message.startswith(f"connection to 127.0.0.1:{port} broke: ")
    assert caught.value.message.endswith("before any answer (if it expects TLS: use https://)")


@pytest.mark.asyncio
async def test_aclose_before_the_end_closes_the_connection(h1_port: int) -> None:
    pool = H1Pool(Endpoint("127.0.0.1", h1_port))
    try:
        async with asyncio.timeout(LIMIT):
            exchange = await pool.open(RequestHead("GET", f"/bytes?n={4 * MIB}"), host="h", body=None)
            await exchange.response()
            assert await exchange.read()
            await exchange.aclose()
            with pytest.raises(RpcError) as caught:
                await exchange.read()
            assert caught.value.code is Code.CANCELLED
            again = await pool.open(post("/count"), host="h", body=b"")
            await again.response()
            assert await read_all(again) == b"0"
            await again.aclose()
    finally:
        await pool.aclose()
    assert pool.connections_opened == 2
