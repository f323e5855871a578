"""`H1Pool.open` against scripted servers: keep-alive retry, trailers, silence, wrong protocols.

Each server is a few lines of asyncio that write exactly the bytes under test; Node's own
HTTP/2-only server stands in for a real h2c-only peer.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from rpcctl.errors import RpcError
from rpcctl.protocols.exchange import RequestHead
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.lean_h1 import H1Pool, WrongHttpVersion
from rpcctl.wire.status import Code
from tests.transport.h1_peers import ScriptedServer

LIMIT = 10.0  # seconds: no test waits longer
HEAD = RequestHead("POST", "/s/M", (("content-type", "application/json"),))
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
NODE_PEER = Path(__file__).resolve().parent.parent / "interop" / "node_peer"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request with a content-length body, or only the head of a chunked one."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


async def call(pool: H1Pool, body: bytes | None = b"{}") -> tuple[int, bytes]:
    async with asyncio.timeout(LIMIT):
        exchange = await pool.open(HEAD, host="h", body=body)
        try:
            if body is None:
                await exchange.write(b"{}")
                await exchange.end()
            status, _ = await exchange.response()
            parts = []
            for _ in range(1000):
                chunk = await exchange.read()
                if chunk is None:
                    break
                parts.append(chunk)
            return status, b"".join(parts)
        finally:
            await exchange.aclose()


async def closes_the_second_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers one request, then closes on the next without a byte (its keep-alive ended)."""
    await read_request(reader)
    writer.write(OK)
    await writer.drain()
    await read_request(reader)


@pytest.mark.asyncio
async def test_whole_body_on_a_closed_idle_connection_is_retried_once() -> None:
    async with ScriptedServer(closes_the_second_request).running() as server:
        pool = H1Pool(Endpoint("127.0.0.1", server.port))
        try:
            assert await call(pool) == (200, b"ok")
            assert await call(pool) == (200, b"ok")  # sent again on a second connection
        finally:
            await pool.aclose()
    assert server.connections == 2
    assert pool.connections_opened == 2


@pytest.mark.asyncio
async def test_streamed_body_on_a_closed_idle_connection_is_not_retried() -> None:
    async with ScriptedServer(closes_the_second_request).running() as server:
        pool = H1Pool(Endpoint("127.0.0.1", server.port))
        try:
            assert await call(pool) == (200, b"ok")
            with pytest.raises(RpcError) as caught:
                await call(pool, body=None)
        finally:
            await pool.aclose()
    assert caught.value.code is Code.UNAVAILABLE
    assert f"connection to 127.0.0.1:{server.port} broke" in caught.value.message
    assert server.connections == 1


@pytest.mark.asyncio
async def test_chunked_trailers_and_interim_response() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-h: 1\r\n\r\n"
            b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\ngrpc-status: 0\r\nx-t-bin: AAE\r\n\r\n"
        )
        await writer.drain()
        await reader.read()

    async with ScriptedServer(script).running() as server:
        pool = H1Pool(Endpoint("127.0.0.1", server.port))
        try:
            async with asyncio.timeout(LIMIT):
                exchange = await pool.open(HEAD, host="h", body=b"{}")
                status, headers = await exchange.response()
                assert (status, headers.get("x-h")) == (200, "1")
                assert await exchange.read() == b"abc"
                assert await exchange.read() == b"de"
                assert await exchange.read() is None
                assert exchange.trailers.items() == [("grpc-status", "0"), ("x-t-bin", b"\x00\x01")]
                await exchange.aclose()
        finally:
            await pool.aclose()


@pytest.mark.asyncio
async def test_silent_server_hits_the_idle_read_limit() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(LIMIT)

    async def head_then_silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(LIMIT)

    for script in (silent, head_then_silent):
        async with ScriptedServer(script).running() as server:
            pool = H1Pool(Endpoint("127.0.0.1", server.port), idle_timeout=0.2)
            try:
                with pytest.raises(RpcError) as caught:
                    await call(pool)
            finally:
                await pool.aclose()
        assert caught.value.code is Code.UNAVAILABLE
        assert caught.value.message == f"no response bytes from 127.0.0.1:{server.port} for 0.2 s"


@pytest.mark.asyncio
async def test_server_closing_while_the_body_streams_is_an_answer_not_a_crash() -> None:
    async def reject(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 3\r\n\r\nno!")
        await writer.drain()

    async with ScriptedServer(reject).running() as server:
        pool = H1Pool(Endpoint("127.0.0.1", server.port))
        try:
            async with asyncio.timeout(LIMIT):
                exchange = await pool.open(HEAD, host="h", body=None)
                assert await exchange.response() is not None
                assert await exchange.read() == b"no!"
                assert await exchange.read() is None
                for _ in range(50):
                    await exchange.write(b"z" * 65536)  # dropped: the server is gone
                await exchange.end()
                await exchange.aclose()
        finally:
            await pool.aclose()


async def answer_with(data: bytes) -> ScriptedServer:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(data)
        await writer.drain()
        await asyncio.sleep(LIMIT)  # keep the socket open: the client must not wait for EOF

    return ScriptedServer(script)


SETTINGS = bytes.fromhex("000006040000000000000300000064")  # MAX_CONCURRENT_STREAMS 100
GOAWAY = bytes.fromhex("0000080700000000000000000000000001")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("data", "speaks", "words"),
    [
        (SETTINGS + GOAWAY, "h2c", "speaks only HTTP/2 (h2c): use --http2"),
        (GOAWAY, "h2c", "speaks only HTTP/2 (h2c): use --http2"),
        (bytes.fromhex("15030100020246"), "tls", "expects TLS: use https://"),
        (bytes.fromhex("160303"), "tls", "expects TLS: use https://"),
    ],
)
async def test_wrong_protocol_names_the_option(data: bytes, speaks: str, words: str) -> None:
    async with (await answer_with(data)).running() as server:
        pool = H1Pool(Endpoint("127.0.0.1", server.port))
        try:
            with pytest.raises(WrongHttpVersion) as caught:
                await call(pool)
        finally:
            await pool.aclose()
    assert caught.value.code is Code.UNAVAILABLE
    assert caught.value.speaks == speaks
    assert caught.value.message == f"127.0.0.1:{server.port} {words}"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n", "'SSH-2.0-OpenSSH_9.6\\r\\n'"),
        (bytes.fromhex("0000ff0900000000010203"), "00 00 ff 09 00 00 00 00 01 02 03"),
    ],
)
async def test_other_bytes_are_a_bad_response_with_a_snippet(data: bytes, words: str) -> None:
    async with (await answer_with(data)).running() as server:
        pool = H1Pool(Endpoint("127.0.0.1", server.port))
        try:
            with pytest.raises(RpcError) as caught:
                await call(pool)
        finally:
            await pool.aclose()
    assert not isinstance(caught.value, WrongHttpVersion)
    assert caught.value.message.startswith(f"bad HTTP/1.1 response from 127.0.0.1:{server.port}")
    assert words in caught.value.message


NODE_H2_ONLY = """
const server = require('http2').createServer((req, res) => res.end('h2'));
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
"""


@pytest.mark.asyncio
@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
async def test_node_http2_only_server_gets_the_http2_hint() -> None:
    node = shutil.which("node")
    assert node is not None
    proc = await asyncio.create_subprocess_exec(
        node, "-e", NODE_H2_ONLY, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        async with asyncio.timeout(LIMIT):
            port = int(await proc.stdout.readline())
        pool = H1Pool(Endpoint("127.0.0.1", port))
        try:
            with pytest.raises(WrongHttpVersion, match=r"speaks only HTTP/2 \(h2c\): use --http2"):
                await call(pool)
        finally:
            await pool.aclose()
    finally:
        proc.stdin.close()
        async with asyncio.timeout(LIMIT):
            await proc.wait()
