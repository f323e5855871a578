"""The transport contract (`rpcctl.transport.exchange.Exchange`), one suite over both backends.

Every test runs on `H2Client.open` and on `H1Pool.open` through `Backend`, against real servers:
rpcctl's own server for the call kinds (Connect streams with JSON messages, so each check reads
the messages themselves) and hypercorn for the HTTP-level cases; a raw-frame HTTP/2 server or a
scripted HTTP/1.1 server where the server must misbehave on cue. What HTTP/1.1 cannot do (full
duplex, GOAWAY, MAX_CONCURRENT_STREAMS) is skipped on it with the reason, never faked.
Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from rpcctl.errors import RpcError
from rpcctl.protocols.exchange import RequestHead
from rpcctl.server.serve import Server
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.proxy import Proxy
from rpcctl.wire.status import Code
from tests.conftest import Certs
from tests.server.conftest import full_table
from tests.support.connect_proxy import ConnectProxy
from tests.support.schema import compile_test_schema
from tests.transport.contract_peers import H1, H2, LIMIT, Backend, body_of, client_tls, hypercorn
from tests.transport.h1_peers import ScriptedServer
from tests.transport.test_h2_exchange import SERVICE, Messages, head, message
from tests.transport.test_lean_h2_frames import (
    DATA,
    END_HEADERS,
    GOAWAY,
    HEADERS,
    RST_STREAM,
    Peer,
    frame,
    raw_h2,
)

MIB = 1024 * 1024
PIECE = 64 * 1024
OCTETS = (("content-type", "application/octet-stream"),)
ECHO = RequestHead("POST", "/echo", OCTETS)
VERSION = RequestHead("GET", "/version")
CONNECT_END = 2  # Connect end-of-stream envelope flag

BOTH = [H2, H1]


def h2_only(reason: str) -> list[Any]:
    """Both backends, HTTP/1.1 skipped with ``reason``."""
    return [H2, pytest.param(H1, marks=pytest.mark.skip(reason=reason))]


NO_DUPLEX = "HTTP/1.1 promises no full duplex: a server may wait for the whole request body"
NO_GOAWAY = "HTTP/1.1 has no GOAWAY and no streams a server can decline (NotSent)"
NO_STREAM_LIMIT = "HTTP/1.1 has one request per connection: the pool opens a connection per request"


@pytest_asyncio.fixture
async def rpc_server() -> AsyncIterator[Server]:
    """rpcctl's own server (HTTP/1.1 and h2c on one port) with the test service."""
    schema = compile_test_schema()
    async with Server(full_table(schema), schema=schema) as served:
        yield served


@pytest_asyncio.fixture
async def hyper() -> AsyncIterator[int]:
    """Hypercorn serving `contract_peers.app` (HTTP/1.1 and h2c); its port."""
    async with hypercorn() as port:
        yield port


async def served_version(backend: Backend) -> str:
    """What the server says it saw: ``HTTP-VERSION SCHEME``."""
    exchange = await backend.open(VERSION, b"")
    assert (await exchange.response())[0] == 200
    seen = (await body_of(exchange)).decode()
    await exchange.aclose()
    return seen


# --- the call kinds, against rpcctl's server -----------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("version", BOTH)
async def test_unary_whole_body(version: str, rpc_server: Server) -> None:
    backend = Backend.on(version, Endpoint("127.0.0.1", rpc_server.port))
    try:
        async with asyncio.timeout(LIMIT):
            unary = RequestHead("POST", SERVICE + "Echo", (("content-type", "application/json"),))
            exchange = await backend.open(unary, b'{"message":"hi"}')
            status, headers = await exchange.response()
            body = await body_of(exchange)
            await exchange.aclose()
    finally:
        await backend.aclose()
    assert exchange.http_version == version
    assert (status, headers.get("content-type")) == (200, "application/json")
    assert b'"message":"hi"' in body.replace(b" ", b"")
    timings = exchange.timings
    assert None not in (timings.connect_start, timings.connected, timings.request_sent, timings.first_byte)
    assert timings.ended is not None


@pytest.mark.asyncio
@pytest.mark.parametrize("version", BOTH)
async def test_server_stream_then_client_stream_on_one_connection(version: str, rpc_server: Server) -> None:
    backend = Backend.on(version, Endpoint("127.0.0.1", rpc_server.port))
    try:
        async with asyncio.timeout(LIMIT):
            count = await backend.open(head("Count"), message({"count": 3}))
            assert (await count.response())[0] == 200
            messages = Messages(count)  # type: ignore[arg-type]
            assert [await messages.next() for _ in range(3)] == [(0, {"n": n}) for n in (1, 2, 3)]
            assert (await messages.next())[0] == CONNECT_END
            assert await count.read() is None
            await count.aclose()

            total = await backend.open(head("Sum"))
            for n in (1, 2, 3, 4):
                await total.write(message({"n": n}))
            await total.end()
            assert (await total.response())[0] == 200
            summed = Messages(total)  # type: ignore[arg-type]
            assert (await summed.next())[1] == {"total": "10", "messages": 4}
            assert (await summed.next())[0] == CONNECT_END
            assert await total.read() is None
            await total.aclose()
    finally:
        await backend.aclose()
    assert backend.connections_opened == 1  # kept alive and reused on both versions
    assert total.timings.connect_start is None


@pytest.mark.asyncio
@pytest.mark.parametrize("version", h2_only(NO_DUPLEX))
async def test_bidi_full_duplex(version: str, rpc_server: Server) -> None:
    backend = Backend.on(version, Endpoint("127.0.0.1", rpc_server.port))
    try:
        async with asyncio.timeout(LIMIT):
            chat = await backend.open(head("Chat"))
            await chat.write(message({"message": "one"}))
            messages = Messages(chat)  # type: ignore[arg-type]
            # The first answer is read before the second request exists.
            assert (await messages.next())[1]["message"] == "one"
            await chat.write(message({"message": "two"}))
            assert (await messages.next())[1]["message"] == "two"
            await chat.end()
            assert (await messages.next())[0] == CONNECT_END
            assert await chat.read() is None
            await chat.aclose()
    finally:
        await backend.aclose()


# --- resets and deadlines ------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("version", BOTH)
async def test_a_reset_by_the_client_and_a_deadline_leave_the_backend_usable(
    version: str, hyper: int
) -> None:
    backend = Backend.on(version, Endpoint("127.0.0.1", hyper))
    try:
        async with asyncio.timeout(LIMIT):
            first = await backend.open(ECHO)
            await first.write(b"ping")
            assert (await first.response())[0] == 200
            assert await first.read() == b"ping"
            await first.aclose()  # mid-stream: RST_STREAM CANCEL, or the connection closed
            with pytest.raises(RpcError) as caught:
                await first.read()
            assert caught.value.code is Code.CANCELLED
            await first.write(b"dropped")  # after the reset: dropped silently

            # A deadline: the server waits for more body, the client gives up on its read.
            waiting = await backend.open(ECHO)
            assert (await waiting.response())[0] == 200
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await waiting.read()
            await waiting.aclose()

            assert (await served_version(backend)).endswith("http")
    finally:
        await backend.aclose()
    # HTTP/2 resets streams and keeps its connection; HTTP/1.1 can only close one.
    assert backend.connections_opened == (1 if version == H2 else 3)


async def _h1_reset_script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
    await writer.drain()
    writer.transport.abort()  # mid-body, without the last chunk


async def _h2_reset_script(peer: Peer, n: int) -> None:
    stream_id, _, _ = await peer.request()
    await peer.send(
        frame(HEADERS, END_HEADERS, stream_id, peer.block([(":status", "200")])),
        frame(DATA, 0, stream_id, b"hello"),
        frame(RST_STREAM, 0, stream_id, (2).to_bytes(4, "big")),  # INTERNAL_ERROR
    )
    await peer.read_until(GOAWAY)


@pytest.mark.asyncio
@pytest.mark.parametrize("version", BOTH)
async def test_a_reset_by_the_server_fails_the_read(version: str) -> None:
    # HTTP/2: RST_STREAM INTERNAL_ERROR is INTERNAL (gRPC PROTOCOL-HTTP2.md, "Errors");
    # HTTP/1.1 has no reset: a connection lost mid-body is UNAVAILABLE.
    expected = Code.INTERNAL if version == H2 else Code.UNAVAILABLE
    async with resetting_server(version) as endpoint:
        backend = Backend.on(version, endpoint)
        try:
            async with asyncio.timeout(LIMIT):
                exchange = await backend.open(ECHO, b"x")
                assert (await exchange.response())[0] == 200
                got = b""
                with pytest.raises(RpcError) as caught:
                    while (chunk := await exchange.read()) is not None:
                        got += chunk
                await exchange.aclose()
        finally:
            await backend.aclose()
    # RST_STREAM ends the stream at once (RFC 9113 §6.4): data still buffered may be dropped.
    assert got == b"hello" if version == H1 else b"hello".startswith(got)
    assert caught.value.code is expected


def resetting_server(version: str) -> contextlib.AbstractAsyncContextManager[Endpoint]:
    """A server that sends ``hello`` and then resets the exchange, for ``version``; its endpoint."""

    @contextlib.asynccontextmanager
    async def h1() -> AsyncIterator[Endpoint]:
        async with ScriptedServer(_h1_reset_script).running() as server:
            yield Endpoint("127.0.0.1", server.port)

    return raw_h2(_h2_reset_script) if version == H2 else h1()


# --- GOAWAY (HTTP/2 only) ------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("version", h2_only(NO_GOAWAY))
async def test_goaway_lets_accepted_streams_finish_and_retries_only_whole_bodies(version: str) -> None:
    async def script(peer: Peer, n: int) -> None:
        if n == 1:
            accepted, _, _ = await peer.request()
            await peer.read_until(HEADERS)  # the whole-body request
            await peer.read_until(HEADERS)  # the streamed one
            # GOAWAY naming the first stream: the two later ones were never seen (NotSent).
            await peer.send(frame(GOAWAY, 0, 0, accepted.to_bytes(4, "big") + (0).to_bytes(4, "big")))
            await peer.answer(accepted, b"accepted")
            await peer.read_until(GOAWAY)
            return
        stream_id, _, body = await peer.request()
        await peer.answer(stream_id, b"again " + body)
        await peer.read_until(GOAWAY)

    async with raw_h2(script) as endpoint:
        backend = Backend.on(version, endpoint)
        try:
            async with asyncio.timeout(LIMIT):
                accepted = await backend.open(ECHO, b"first")
                await asyncio.sleep(0)  # stream 1 goes out before the others
                whole = await backend.open(ECHO, b"whole")
                streamed = await backend.open(ECHO)
                assert await body_of(accepted) == b"accepted"
                assert await body_of(whole) == b"again whole"
                with pytest.raises(RpcError) as caught:
                    await streamed.response()
                for exchange in (accepted, whole, streamed):
                    await exchange.aclose()
        finally:
            await backend.aclose()
    assert caught.value.code is Code.UNAVAILABLE
    assert backend.connections_opened == 2


# --- big bodies and flow control -----------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("version", BOTH)
async def test_sixteen_mib_each_way_at_once(version: str, hyper: int) -> None:
    pieces = [bytes([n]) * PIECE for n in range(16 * MIB // PIECE)]
    backend = Backend.on(version, Endpoint("127.0.0.1", hyper))
    try:
        async with asyncio.timeout(LIMIT * 3):
            exchange = await backend.open(ECHO)

            async def upload() -> None:
                for piece in pieces:
                    await exchange.write(piece)  # waits on flow control / the socket
                await exchange.end()

            writer = asyncio.create_task(upload())
            assert (await exchange.response())[0] == 200
            digest, size = hashlib.sha256(), 0
            while (chunk := await exchange.read()) is not None:
                digest.update(chunk)
                size += len(chunk)
            await writer
            await exchange.aclose()
    finally:
        await backend.aclose()
    assert size == 16 * MIB
    assert digest.hexdigest() == hashlib.sha256(b"".join(pieces)).hexdigest()


@pytest.mark.asyncio
@pytest.mark.parametrize("version", h2_only(NO_STREAM_LIMIT))
async def test_streams_beyond_max_concurrent_streams_wait_for_a_slot(version: str) -> None:
    async with hypercorn(max_streams=2) as port:
        backend = Backend.on(version, Endpoint("127.0.0.1", port))
        try:
            async with asyncio.timeout(LIMIT):
                one, two = await backend.open(ECHO), await backend.open(ECHO)
                third = asyncio.create_task(backend.open(ECHO, b"third"))

                async def third_head() -> int:
                    return (await (await third).response())[0]

                waiting = asyncio.create_task(third_head())
                for exchange in (one, two):
                    await exchange.write(b"x")
                    assert (await exchange.response())[0] == 200
                    assert await exchange.read() == b"x"  # a round trip after the third was opened
                # Had the third stream started, hypercorn would have refused it (REFUSED_STREAM).
                assert not waiting.done()
                await one.end()
                assert await body_of(one) == b""
                assert await waiting == 200
                assert await body_of(await third) == b"third"
                await two.end()
                for exchange in (one, two, await third):
                    await exchange.aclose()
        finally:
            await backend.aclose()
    assert backend.connections_opened == 1


# --- endpoints: TLS with ALPN, unix sockets, the CONNECT proxy -------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("version", BOTH)
async def test_tls_with_alpn(version: str, certs: Certs) -> None:
    async with hypercorn(certfile=str(certs.cert), keyfile=str(certs.key)) as port:
        context = client_tls(str(certs.cert), version)
        backend = Backend.on(
            version, Endpoint("127.0.0.1", port, ssl_context=context, server_hostname="localhost")
        )
        try:
            async with asyncio.timeout(LIMIT):
                exchange = await backend.open(ECHO, b"over tls")
                assert await body_of(exchange) == b"over tls"
                await exchange.aclose()
                seen = await served_version(backend)
        finally:
            await backend.aclose()
    assert seen == ("2 https" if version == H2 else "1.1 https")
    assert exchange.http_version == version
    assert exchange.timings.tls_done is not None


@pytest.mark.asyncio
@pytest.mark.parametrize("version", BOTH)
async def test_unix_socket(version: str, tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    async with hypercorn(unix_path=path):
        backend = Backend.on(version, Endpoint(unix_path=path))
        try:
            async with asyncio.timeout(LIMIT):
                seen = await served_version(backend)
        finally:
            await backend.aclose()
    assert seen == ("2 http" if version == H2 else "1.1 http")


@pytest.mark.asyncio
@pytest.mark.parametrize("version", BOTH)
async def test_through_a_connect_proxy(version: str, hyper: int) -> None:
    async with ConnectProxy().running() as proxy:
        endpoint = Endpoint("127.0.0.1", hyper, proxy=Proxy("127.0.0.1", proxy.port, variable="HTTP_PROXY"))
        backend = Backend.on(version, endpoint)
        try:
            async with asyncio.timeout(LIMIT):
                exchange = await backend.open(ECHO)
                await exchange.write(b"tunnelled")
                assert (await exchange.response())[0] == 200
                assert await exchange.read() == b"tunnelled"
                await exchange.end()
                assert await body_of(exchange) == b""
                await exchange.aclose()
                seen = await served_version(backend)
        finally:
            await backend.aclose()
    assert seen == ("2 http" if version == H2 else "1.1 http")
    assert [request.target for request in proxy.requests] == [f"127.0.0.1:{hyper}"]
    assert proxy.tunnels == 1
