"""`H2Exchange` against scripted and misbehaving peers: resets, GOAWAY, flow control both ways,
stream limits, a peer that is no HTTP/2 server, a silent peer, a malformed status.

Scripted raw-frame peers (`tests.transport.test_lean_h2_frames.Peer`) send exactly the frames a
case is about; `h2` serves as an independent server where flow control is the point. Every wait
is bounded.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest

from rpcctl.errors import RpcError, TransportError
from rpcctl.protocols.exchange import RequestHead
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.lean_h2 import H2Client, NotHttp2, NotSent
from rpcctl.wire.status import Code
from tests.transport.test_lean_h2_frames import (
    END_HEADERS,
    GOAWAY,
    HEADERS,
    RST_STREAM,
    Peer,
    frame,
    h2_client_of,
    settings,
)

LIMIT = 10.0
HEAD = RequestHead("POST", "/s/M", (("content-type", "application/proto"),))
MIB = 1024 * 1024


async def body_of(exchange: Any) -> bytes:
    out = b""
    while (chunk := await exchange.read()) is not None:
        out += chunk
    return out


@pytest.mark.asyncio
async def test_reset_by_the_server_and_a_reset_by_the_client() -> None:
    async def script(peer: Peer) -> None:
        stream_id, _, _ = await peer.request()
        await peer.send(frame(RST_STREAM, 0, stream_id, (0xB).to_bytes(4, "big")))  # ENHANCE_YOUR_CALM
        _, second, _ = await peer.read_until(HEADERS)
        await peer.send(frame(HEADERS, END_HEADERS, second, peer.block([(":status", "200")])))
        _, reset, payload = await peer.read_until(RST_STREAM)
        assert (reset, payload) == (second, (8).to_bytes(4, "big"))  # CANCEL from aclose
        await peer.read_until(GOAWAY)

    async with h2_client_of(script) as client:
        exchange = await client.open(HEAD, scheme="http", authority="x", body=b"x")
        with pytest.raises(RpcError) as caught:
            await exchange.response()
        assert caught.value.code is Code.RESOURCE_EXHAUSTED
        await exchange.write(b"dropped")  # after the reset: silently dropped
        await exchange.aclose()

        streamed = await client.open(HEAD, scheme="http", authority="x", body=None)
        assert (await streamed.response())[0] == 200
        await streamed.aclose()
        with pytest.raises(RpcError) as caught:
            await streamed.read()
        assert caught.value.code is Code.CANCELLED


@pytest.mark.asyncio
async def test_goaway_retries_a_whole_body_and_fails_a_streamed_one_with_not_sent() -> None:
    connections = 0

    async def script(peer: Peer) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:
            await peer.read_until(HEADERS)
            await peer.read_until(HEADERS)
            await peer.send(frame(GOAWAY, 0, 0, (0).to_bytes(4, "big") + (0).to_bytes(4, "big")))
            return
        stream_id, _, body = await peer.request()
        await peer.answer(stream_id, b"again " + body)
        await peer.read_until(GOAWAY)

    async with h2_client_of(script) as client:
        whole = await client.open(HEAD, scheme="http", authority="x", body=b"whole")
        streamed = await client.open(HEAD, scheme="http", authority="x", body=None)
        with pytest.raises(NotSent) as caught:
            await streamed.response()
        assert caught.value.code is Code.UNAVAILABLE
        assert (await whole.response())[0] == 200
        assert await body_of(whole) == b"again whole"
        await whole.aclose()
        await streamed.aclose()
    assert connections == 2


@pytest.mark.asyncio
async def test_goaway_lets_the_streams_it_accepted_finish() -> None:
    async def script(peer: Peer) -> None:
        stream_id, _, _ = await peer.request()
        await peer.send(frame(GOAWAY, 0, 0, stream_id.to_bytes(4, "big") + (0).to_bytes(4, "big")))
        await peer.answer(stream_id, b"finished")

    async with h2_client_of(script) as client:
        exchange = await client.open(HEAD, scheme="http", authority="x", body=b"x")
        assert await body_of(exchange) == b"finished"
        await exchange.aclose()


@pytest.mark.asyncio
async def test_max_concurrent_streams_queues_exchanges() -> None:
    async def script(peer: Peer) -> None:
        first, _, _ = await peer.request()
        with pytest.raises(TimeoutError):  # the second waits for a slot
            async with asyncio.timeout(0.2):
                await peer.request()
        await peer.answer(first, b"1")
        second, _, body = await peer.request()
        assert body == b"queued"
        await peer.answer(second, b"2")
        await peer.read_until(GOAWAY)

    async with h2_client_of(script, first=settings(streams=1)) as client:
        one = await client.open(HEAD, scheme="http", authority="x", body=b"a")
        two = await client.open(HEAD, scheme="http", authority="x", body=None)
        writing = asyncio.ensure_future(two.write(b"queued"))  # waits for the slot
        assert await body_of(one) == b"1"
        await writing
        await two.end()
        assert await body_of(two) == b"2"
        await one.aclose()
        await two.aclose()


@pytest.mark.asyncio
async def test_a_malformed_status_fails_every_stream_on_the_connection() -> None:
    async def script(peer: Peer) -> None:
        _, first, _ = await peer.read_until(HEADERS)
        await peer.read_until(HEADERS)
        await peer.send(frame(HEADERS, END_HEADERS, first, peer.block([(":status", "abc")])))
        await peer.read_until(GOAWAY)

    async with h2_client_of(script) as client:
        one = await client.open(HEAD, scheme="http", authority="x", body=None)
        two = await client.open(HEAD, scheme="http", authority="x", body=None)
        for exchange in (one, two):
            with pytest.raises(RpcError) as caught:
                await exchange.response()
            assert caught.value.code is Code.INTERNAL
            assert ":status" in caught.value.message
            await exchange.aclose()


@pytest.mark.asyncio
async def test_a_silent_peer_fails_the_exchange_by_keepalive() -> None:
    async def script(peer: Peer) -> None:
        await peer.read_until(HEADERS)
        await asyncio.sleep(LIMIT)  # SETTINGS, then nothing at all

    async with h2_client_of(script, keepalive_time=0.2, keepalive_timeout=0.2) as client:
        exchange = await client.open(HEAD, scheme="http", authority="x", body=None)
        with pytest.raises(RpcError) as caught:
            await exchange.response()
        await exchange.aclose()
    assert caught.value.code is Code.UNAVAILABLE
    assert "(keepalive)" in caught.value.message
    assert "no answer from 127.0.0.1:" in caught.value.message


@pytest.mark.asyncio
async def test_an_http1_server_and_a_tls_server_fail_at_once() -> None:
    async def http1(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    async def tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"\x15\x03\x03\x00\x02\x02\x46")  # a TLS alert record
        await writer.drain()
        writer.close()

    for handler, expected, kind in (
        (http1, "HTTP/1.1 only", NotHttp2),
        (tls, "the server expects TLS: use https://", TransportError),
    ):
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        client = H2Client(Endpoint("127.0.0.1", server.sockets[0].getsockname()[1], connect_timeout=LIMIT))
        started = time.monotonic()
        try:
            with pytest.raises(kind) as caught:
                await client.open(HEAD, scheme="http", authority="x", body=b"")
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()
        assert expected in str(caught.value)
        assert time.monotonic() - started < LIMIT / 2  # not after the connect timeout


class FlowServer:
    """An `h2` server for one stream: counts what it could send and what it received."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0
        self.received = 0
        self.go = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        stream_id = 0
        try:
            while True:
                while stream_id and self.sent < self.size:
                    window = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
                    size = min(window, self.size - self.sent)
                    if size <= 0:
                        break
                    conn.send_data(stream_id, b"s" * size, end_stream=self.sent + size == self.size)
                    self.sent += size
                writer.write(conn.data_to_send())
                await writer.drain()
                data = await reader.read(65536)
                if not data:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        stream_id = event.stream_id
                        conn.send_headers(stream_id, [(":status", "200")])
                    elif isinstance(event, h2.events.DataReceived):
                        self.received += len(event.data)
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        except (ConnectionError, h2.exceptions.H2Error):
            pass
        finally:
            writer.close()


@pytest.mark.asyncio
async def test_sixteen_mib_each_way_under_flow_control_and_a_slow_reader_throttles_the_server() -> None:
    flow = FlowServer(16 * MIB)
    server = await asyncio.start_server(flow.serve, "127.0.0.1", 0)
    client = H2Client(Endpoint("127.0.0.1", server.sockets[0].getsockname()[1]))
    try:
        async with asyncio.timeout(60):
            exchange = await client.open(HEAD, scheme="http", authority="x", body=None)
            upload = bytes(range(256)) * (16 * MIB // 256)
            await exchange.write(upload)  # one write: flow control and the socket pace it
            await exchange.response()
            await asyncio.sleep(0.3)  # nobody reads: the server runs out of window
            assert flow.sent <= 5 * MIB  # 4 MiB stream window (+ what was read: nothing)
            total = 0
            while (chunk := await exchange.read()) is not None:
                total += len(chunk)
            await exchange.end()
            await exchange.aclose()
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
    assert total == 16 * MIB
    assert flow.received == 16 * MIB
