"""The lean HTTP/1.1 client (`rpcctl.transport.lean_h1`) against raw keep-alive servers on loopback.

Each server answers from a script of raw bytes, so the tests control framing byte by byte:
keep-alive reuse, chunked bodies split anywhere, the server closing, and malformed or
oversized responses, which must end in an error, never a hang.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rpcctl.errors import RpcError, TransportError
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.lean_h1 import H1Pool, Limits, build_request
from rpcctl.wire.status import Code
from tests.bench.raw_http import RawServer, always, in_pieces, ok

LIMIT = 5.0  # seconds: no test may wait longer for an answer
REQUEST = build_request("POST", "/svc/Method", "127.0.0.1", [("content-type", "application/json")], b"{}")


async def send(pool: H1Pool, request: bytes = REQUEST) -> tuple[int, bytes]:
    async with asyncio.timeout(LIMIT):
        response = await pool.request(request)
    return response.status, response.body


def pool_for(server: RawServer, limits: Limits | None = None) -> H1Pool:
    return H1Pool(Endpoint("127.0.0.1", server.port), limits=limits)


@pytest.mark.asyncio
async def test_keep_alive_reuses_one_connection() -> None:
    async with RawServer(always(ok())).running() as server:
        pool = pool_for(server)
        try:
            for _ in range(5):
                assert await send(pool) == (200, b"hello")
        finally:
            await pool.aclose()
    assert server.connections == 1
    assert pool.connections_opened == 1
    assert server.requests[0] == REQUEST
    assert server.requests[0].startswith(b"POST /svc/Method HTTP/1.1\r\nhost: 127.0.0.1\r\n")
    assert b"content-length: 2\r\n\r\n{}" in server.requests[0]


@pytest.mark.asyncio
async def test_concurrent_requests_take_a_connection_each_then_reuse_them() -> None:
    async def slow(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.05)
        writer.write(ok(b"slow"))
        return True

    async with RawServer(slow).running() as server:
        pool = pool_for(server)
        try:
            for _ in range(2):
                results = await asyncio.gather(*(send(pool) for _ in range(3)))
                assert results == [(200, b"slow")] * 3
        finally:
            await pool.aclose()
    assert server.connections == 3


@pytest.mark.asyncio
async def test_chunked_body_split_anywhere() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: x\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nx-trailer: yes\r\n\r\n"
    )
    for size in (1, 3, 7, len(chunked)):
        async with RawServer(in_pieces(chunked, size)).running() as server:
            pool = pool_for(server)
            try:
                assert await send(pool) == (200, b"hello 0123456789")
                assert await send(pool) == (200, b"hello 0123456789")
            finally:
                await pool.aclose()
        assert server.connections == 1


@pytest.mark.asyncio
async def test_content_length_body_in_pieces_and_interim_100() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"x" * 3000)
    async with RawServer(in_pieces(data, 512)).running() as server:
        pool = pool_for(server)
        try:
            assert await send(pool) == (200, b"x" * 3000)
            assert await send(pool) == (200, b"x" * 3000)
        finally:
            await pool.aclose()
    assert server.connections == 1


@pytest.mark.asyncio
async def test_connection_close_header_makes_the_next_call_reconnect() -> None:
    async with RawServer(always(ok(extra="connection: close\r\n"), keep=False)).running() as server:
        pool = pool_for(server)
        try:
            for _ in range(3):
                assert await send(pool) == (200, b"hello")
        finally:
            await pool.aclose()
    assert server.connections == 3


@pytest.mark.asyncio
async def test_server_closing_an_idle_connection_is_retried_on_a_new_one() -> None:
    # The server closes after each answer without saying so: the next request on the reused
    # connection gets no byte back, and is sent again on a fresh connection.
    async def answer(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(ok())
        await writer.drain()
        return False

    async with RawServer(answer).running() as server:
        pool = pool_for(server)
        try:
            for _ in range(3):
                assert await send(pool) == (200, b"hello")
                await asyncio.sleep(0.02)
        finally:
            await pool.aclose()
    assert server.connections == 3


@pytest.mark.asyncio
async def test_body_until_close() -> None:
    data = b"HTTP/1.1 200 OK\r\ncontent-type: x\r\n\r\nall of it"
    async with RawServer(always(data, keep=False)).running() as server:
        pool = pool_for(server)
        try:
            assert await send(pool) == (200, b"all of it")
            assert await send(pool) == (200, b"all of it")
        finally:
            await pool.aclose()
    assert server.connections == 2


@pytest.mark.asyncio
async def test_server_closing_mid_body_is_unavailable() -> None:
    data = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part"
    async with RawServer(always(data, keep=False)).running() as server:
        pool = pool_for(server)
        try:
            with pytest.raises(RpcError) as caught:
                await send(pool)
        finally:
            await pool.aclose()
    assert caught.value.code is Code.UNAVAILABLE
    assert "broke" in caught.value.message


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", Code.UNAVAILABLE, "status line"),
        (b"HTTP/1.1 2x0 OK\r\n\r\n", Code.UNAVAILABLE, "status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", Code.UNAVAILABLE, "header line"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\n", Code.UNAVAILABLE, "content-length"),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
            Code.UNAVAILABLE,
            "conflicting",
        ),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", Code.UNAVAILABLE, "chunk size"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabXY", Code.UNAVAILABLE, "CRLF"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n", Code.UNAVAILABLE, "transfer-encoding"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n", Code.RESOURCE_EXHAUSTED, "larger"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1000\r\n", Code.RESOURCE_EXHAUSTED, "larger"),
    ],
)
async def test_malformed_responses_are_errors(data: bytes, code: Code, words: str) -> None:
    async with RawServer(always(data)).running() as server:
        pool = pool_for(server, limits=Limits(max_body=1024))
        try:
            with pytest.raises(RpcError) as caught:
                await send(pool)
            assert caught.value.code is code
            assert words in caught.value.message
        finally:
            await pool.aclose()


@pytest.mark.asyncio
async def test_endless_headers_and_bodies_hit_the_limits() -> None:
    async def endless_head(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(200):
            writer.write(b"x-filler: " + b"y" * 1000 + b"\r\n")
            await writer.drain()
        await asyncio.sleep(LIMIT)
        return False

    async def endless_body(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n")  # read until close
        for _ in range(200):
            writer.write(b"z" * 1000)
            await writer.drain()
        await asyncio.sleep(LIMIT)
        return False

    for answer, code in ((endless_head, Code.UNAVAILABLE), (endless_body, Code.RESOURCE_EXHAUSTED)):
        async with RawServer(answer).running() as server:
            pool = pool_for(server, limits=Limits(max_head=16 * 1024, max_body=64 * 1024))
            try:
                with pytest.raises(RpcError) as caught:
                    await send(pool)
            finally:
                await pool.aclose()
        assert caught.value.code is code


@pytest.mark.asyncio
async def test_too_many_headers() -> None:
    head = "".join(f"x-h{i}: v\r\n" for i in range(20))
    data = f"HTTP/1.1 200 OK\r\n{head}content-length: 0\r\n\r\n".encode()
    async with RawServer(always(data)).running() as server:
        pool = pool_for(server, limits=Limits(max_headers=10))
        try:
            with pytest.raises(RpcError, match="more than 10"):
                await send(pool)
        finally:
            await pool.aclose()


@pytest.mark.asyncio
async def test_a_recovered_pool_answers_after_a_bad_response() -> None:
    async def answer(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"garbage\r\n\r\n" if len(server.requests) == 1 else ok())
        return True

    async with RawServer(answer).running() as server:
        pool = pool_for(server)
        try:
            with pytest.raises(RpcError):
                await send(pool)
            assert await send(pool) == (200, b"hello")
        finally:
            await pool.aclose()
    assert server.connections == 2


@pytest.mark.asyncio
async def test_cancelled_request_closes_its_connection() -> None:
    async def never(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(LIMIT)
        return False

    async with RawServer(never).running() as server:
        pool = pool_for(server)
        try:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.1):
                    await pool.request(REQUEST)
            assert not pool._idle
        finally:
            await pool.aclose()


@pytest.mark.asyncio
async def test_refused_connection_is_a_transport_error(closed_port: int) -> None:
    pool = H1Pool(Endpoint("127.0.0.1", closed_port, connect_timeout=2))
    try:
        with pytest.raises(TransportError, match=r"cannot connect to 127\.0\.0\.1"):
            await send(pool)
    finally:
        await pool.aclose()


@pytest.mark.asyncio
async def test_unix_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    async with RawServer(always(ok())).running(unix_path=path) as server:
        pool = H1Pool(Endpoint(unix_path=path))
        try:
            assert await send(pool) == (200, b"hello")
            assert await send(pool) == (200, b"hello")
        finally:
            await pool.aclose()
    assert server.connections == 1


def test_build_request_rejects_header_injection() -> None:
    with pytest.raises(ValueError):
        build_request("POST", "/p", "h", [("x-a", "b\r\nx-evil: 1")], b"")
