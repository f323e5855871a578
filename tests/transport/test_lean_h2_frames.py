"""The lean HTTP/2 client's frame layer against a server that writes raw frames.

Real servers (hypercorn, nginx, connect-node) never pad, split header blocks or send 1xx
answers to these requests, so a scripted server on 127.0.0.1 does: each test sends exactly
the frames it is about, and reads back what the client wrote. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import hpack
import pytest

from rpcctl.errors import RpcError
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.lean_h2 import H2Client, H2Limits
from rpcctl.wire.status import Code

LIMIT = 10.0
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    0, 1, 3, 4, 5, 6, 7, 8, 9
)  # fmt: skip
END_STREAM, END_HEADERS, PADDED, PRIORITY = 0x1, 0x4, 0x8, 0x20
REQUEST = [(b":method", b"POST"), (b":scheme", b"http"), (b":authority", b"x"), (b":path", b"/s/M")]


def frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream_id.to_bytes(4, "big") + payload


def settings(**values: int) -> bytes:
    codes = {"table": 1, "streams": 3, "window": 4, "frame": 5}
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HL", codes[k], v) for k, v in values.items()))


class Peer:
    """One accepted connection: frames the client sent, and a writer for raw bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()

    async def read_frame(self) -> tuple[int, int, int, bytes]:
        head = await self.reader.readexactly(9)
        length = int.from_bytes(head[:3], "big")
        payload = await self.reader.readexactly(length)
        return head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF, payload

    async def read_until(self, kind: int) -> tuple[int, int, bytes]:
        """Frames up to the first of this type; (flags, stream, payload)."""
        while True:
            got, flags, stream_id, payload = await self.read_frame()
            if got == kind:
                return flags, stream_id, payload

    async def request(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """The next request: stream id, headers (CONTINUATION joined), body up to END_STREAM."""
        flags, stream_id, block = await self.read_until(HEADERS)
        while not flags & END_HEADERS:
            kind, more, _, piece = await self.read_frame()
            assert kind == CONTINUATION
            flags |= more & END_HEADERS
            block += piece
        headers = [(str(k), str(v)) for k, v in self.decoder.decode(block)]
        body = b""
        ended = bool(flags & END_STREAM)
        while not ended:
            kind, data_flags, _, payload = await self.read_frame()
            if kind == DATA:
                body += payload
                ended = bool(data_flags & END_STREAM)
        return stream_id, headers, body

    def block(self, headers: list[tuple[str, str]]) -> bytes:
        return bytes(self.encoder.encode(headers))

    async def send(self, *frames: bytes) -> None:
        self.writer.write(b"".join(frames))
        await self.writer.drain()

    async def answer(self, stream_id: int, body: bytes = b"ok", status: str = "200") -> None:
        await self.send(
            frame(HEADERS, END_HEADERS, stream_id, self.block([(":status", status)])),
            frame(DATA, END_STREAM, stream_id, body),
        )


Script = Callable[[Peer], Awaitable[None]]


@asynccontextmanager
async def raw_h2(
    script: Callable[[Peer, int], Awaitable[None]], first: bytes | None = None
) -> AsyncIterator[Endpoint]:
    """An h2c server that sends `first` (default: empty SETTINGS) and runs ``script(peer, n)`` on
    its n-th connection (from 1); its endpoint.

    A failed assertion in a script is raised when the context exits.
    """
    failures: list[BaseException] = []
    tasks: set[asyncio.Task[None]] = set()
    count = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        count += 1
        peer = Peer(reader, writer)
        try:
            assert await reader.readexactly(len(PREFACE)) == PREFACE
            await peer.send(settings() if first is None else first)
            await script(peer, count)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        except BaseException as exc:  # reported by the test, after the client closed
            failures.append(exc)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield Endpoint("127.0.0.1", server.sockets[0].getsockname()[1])
    finally:
        if tasks:  # let scripts read what the client sent last (its GOAWAY)
            await asyncio.wait(tasks, timeout=2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.close()
        await server.wait_closed()
    if failures:
        raise failures[0]


@asynccontextmanager
async def h2_client_of(script: Script, first: bytes | None = None, **options: Any) -> AsyncIterator[H2Client]:
    """A `raw_h2` server running `script` per connection, and a client for it (closed on exit)."""

    async def each(peer: Peer, _: int) -> None:
        await script(peer)

    async with raw_h2(each, first) as endpoint:
        client = H2Client(endpoint, **options)
        try:
            async with asyncio.timeout(LIMIT):
                yield client
        finally:
            await client.aclose()


def raw_server(script: Script, first: bytes | None = None) -> AbstractAsyncContextManager[H2Client]:
    """`h2_client_of` with a client that takes a header list of 4 KiB at the most."""
    return h2_client_of(script, first, limits=H2Limits(max_header_list=4096))


@pytest.mark.asyncio
async def test_padding_priority_continuation_and_an_informational_answer_are_read() -> None:
    async def script(peer: Peer) -> None:
        stream_id, _, body = await peer.request()
        assert body == b"hello"
        final = peer.block([(":status", "200"), ("content-type", "application/proto"), ("x-long", "v" * 300)])
        await peer.send(
            frame(HEADERS, END_HEADERS, stream_id, peer.block([(":status", "100")])),
            # padded, with a priority block, and split in three by CONTINUATION
            frame(HEADERS, PADDED | PRIORITY, stream_id, bytes([3]) + b"\0\0\0\0\x10" + final[:100] + b"pad"),
            frame(CONTINUATION, 0, stream_id, final[100:200]),
            frame(CONTINUATION, END_HEADERS, stream_id, final[200:]),
            frame(DATA, PADDED, stream_id, bytes([4]) + b"an" + b"\0" * 4),
            frame(DATA, 0, stream_id, b"sw"),
            frame(HEADERS, END_HEADERS | END_STREAM, stream_id, peer.block([("grpc-status", "0")])),
        )
        await peer.read_until(GOAWAY)

    async with raw_server(script) as client:
        response = await client.request(REQUEST, b"hello")
    assert response.status == 200
    assert (b"x-long", b"v" * 300) in response.headers
    assert response.body == b"answ"
    assert response.trailers == [(b"grpc-status", b"0")]


@pytest.mark.asyncio
async def test_ping_is_answered_and_settings_are_acknowledged() -> None:
    async def script(peer: Peer) -> None:
        await peer.send(frame(PING, 0, 0, b"12345678"))
        seen: dict[str, object] = {}
        while len(seen) < 3:
            kind, flags, stream_id, payload = await peer.read_frame()
            if kind == SETTINGS and flags == 1:
                seen["settings ack"] = True
            elif kind == PING:
                seen["ping"] = (flags, payload)
            elif kind == HEADERS:
                seen["request"] = stream_id
        assert seen["ping"] == (1, b"12345678")
        await peer.answer(int(seen["request"]))  # type: ignore[call-overload]

    async with raw_server(script) as client:
        assert (await client.request(REQUEST, b"")).body == b"ok"


@pytest.mark.asyncio
async def test_a_body_larger_than_the_send_window_waits_for_window_updates() -> None:
    body = bytes(range(256)) * 200  # 51,200 bytes: several frames, past a 1,000-byte window

    async def script(peer: Peer) -> None:
        received = b""
        _, stream_id, _ = await peer.read_until(HEADERS)
        while True:
            kind, data_flags, _, payload = await peer.read_frame()
            if kind != DATA:
                continue
            received += payload
            assert len(received) <= 1000 + 16384 * (len(received) // 16384 + 1)
            if data_flags & END_STREAM:
                break
            if len(received) % 1000 == 0:  # the window is used up: open it a little more
                await peer.send(
                    frame(WINDOW_UPDATE, 0, 0, (20000).to_bytes(4, "big")),
                    frame(WINDOW_UPDATE, 0, stream_id, (20000).to_bytes(4, "big")),
                )
        assert received == body
        await peer.answer(stream_id, b"%d" % len(received))

    async with raw_server(script, first=settings(window=1000)) as client:
        response = await client.request(REQUEST, body)
    assert response.body == b"51200"


@pytest.mark.asyncio
async def test_a_header_block_over_the_frame_size_goes_out_in_continuation_frames() -> None:
    async def script(peer: Peer) -> None:
        stream_id, headers, _ = await peer.request()
        await peer.answer(stream_id, dict(headers)["x-big"][-3:].encode())

    async with raw_server(script) as client:
        response = await client.request([*REQUEST, (b"x-big", b"b" * 40000 + b"end")], b"x")
    assert response.body == b"end"


@pytest.mark.asyncio
async def test_max_concurrent_streams_queues_the_rest() -> None:
    async def script(peer: Peer) -> None:
        first, _, _ = await peer.request()
        with pytest.raises(TimeoutError):  # the second request waits for the first to end
            async with asyncio.timeout(0.2):
                await peer.request()
        await peer.answer(first, b"1")
        second, _, _ = await peer.request()
        assert second == first + 2
        await peer.answer(second, b"2")

    async with raw_server(script, first=settings(streams=1)) as client:
        answers = await asyncio.gather(client.request(REQUEST, b"a"), client.request(REQUEST, b"b"))
    assert sorted(response.body for response in answers) == [b"1", b"2"]


async def broken(respond: Callable[[Peer, int], list[bytes]]) -> tuple[RpcError, int | None]:
    """The error a call ends with when the server answers with these frames, and our GOAWAY code."""
    goaway: list[int] = []

    async def script(peer: Peer) -> None:
        stream_id, _, _ = await peer.request()
        await peer.send(*respond(peer, stream_id))
        _, _, payload = await peer.read_until(GOAWAY)
        goaway.append(int.from_bytes(payload[4:8], "big"))

    async with raw_server(script) as client:
        with pytest.raises(RpcError) as caught:
            await client.request(REQUEST, b"x")
        await asyncio.sleep(0.05)
    return caught.value, goaway[0] if goaway else None


@pytest.mark.asyncio
async def test_protocol_errors_end_the_connection_with_goaway_and_a_clear_error() -> None:
    cases: dict[str, tuple[Callable[[Peer, int], list[bytes]], int]] = {
        "a frame of 16777215 bytes": (lambda p, s: [b"\xff\xff\xff\x00\x00\x00\x00\x00\x01"], 0x6),
        "undecodable headers": (lambda p, s: [frame(HEADERS, END_HEADERS, s, b"\xff\xff\xff\xff\xff")], 0x9),
        "PUSH_PROMISE although push is disabled": (lambda p, s: [frame(PUSH_PROMISE, END_HEADERS, s, b"\0\0\0\2")], 0x1),
        "padding longer than the frame": (lambda p, s: [frame(HEADERS, PADDED | END_HEADERS, s, b"\x09abc")], 0x1),
        "a header block was interrupted": (
            lambda p, s: [frame(HEADERS, 0, s, p.block([(":status", "200")])), frame(DATA, 0, s, b"x")], 0x1
        ),
        "response headers over the header list limit": (
            lambda p, s: [frame(HEADERS, END_HEADERS, s, p.block([(":status", "200"), ("x", "y" * 5000)]))], 0xB
        ),
        "never opened": (lambda p, s: [frame(HEADERS, END_HEADERS, s + 2, p.block([(":status", "200")]))], 0x1),
    }  # fmt: skip
    for message, (respond, code) in cases.items():
        error, goaway = await broken(respond)
        assert error.code is Code.INTERNAL, message
        assert message in error.message
        assert "HTTP/2 protocol error from 127.0.0.1:" in error.message
        assert goaway == code, message


@pytest.mark.asyncio
async def test_stream_errors_reset_the_stream_and_keep_the_connection() -> None:
    async def script(peer: Peer) -> None:
        stream_id, _, _ = await peer.request()
        await peer.send(frame(DATA, END_STREAM, stream_id, b"early"))  # DATA before the headers
        _, reset, payload = await peer.read_until(RST_STREAM)
        assert reset == stream_id
        assert payload == (8).to_bytes(4, "big")  # CANCEL
        stream_id, _, _ = await peer.request()
        await peer.answer(stream_id, b"fine")

    async with raw_server(script) as client:
        with pytest.raises(RpcError) as caught:
            await client.request(REQUEST, b"x")
        assert caught.value.code is Code.INTERNAL
        assert "DATA before the response headers" in caught.value.message
        assert (await client.request(REQUEST, b"x")).body == b"fine"
        assert client.connections_opened == 1
