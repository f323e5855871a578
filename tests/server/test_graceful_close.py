"""The server's graceful close over HTTP/1.1 keep-alive: every request a handler saw is answered.

Connections that already made one call sit idle (keep-alive) when each sends its next request
and the server is closed in the middle of those writes. A request may reach the handler or not
(then the client sees the connection close), but one that reached it gets its 200 answer, and
no client gets 408 for a request that was processed (the drain test's lost acknowledgements).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import h11
import pytest

from rpcctl.schema.registry import CallKind
from rpcctl.server.call import Handler, HandlerTable, ServerCall
from rpcctl.server.serve import Server

PATH = "/raw.Svc/Count"
CONNECTIONS = 24
STEP_S = 10.0  # bound on each read; a healthy run takes milliseconds


def request_bytes(port: int) -> bytes:
    client = h11.Connection(h11.CLIENT)
    head = h11.Request(
        method="POST",
        target=PATH,
        headers=[
            ("host", f"127.0.0.1:{port}"),
            ("content-type", "application/proto"),
            ("content-length", "0"),
        ],
    )
    return client.send(head) + client.send(h11.EndOfMessage())


class Peer:
    """One keep-alive HTTP/1.1 connection, parsing responses with h11."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)

    def send(self, data: bytes) -> None:
        self.h11.send(
            h11.Request(method="POST", target=PATH, headers=[("host", "x"), ("content-length", "0")])
        )
        self.h11.send(h11.EndOfMessage())
        self.writer.write(data)

    async def status(self) -> int | None:
        """The status of the answer, None if the connection closed first."""
        status: int | None = None
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError:  # closed before or in the middle of the answer
                return None
            if event is h11.NEED_DATA:
                try:
                    data = await asyncio.wait_for(self.reader.read(65536), STEP_S)
                except ConnectionError:
                    data = b""
                self.h11.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
                    self.h11.start_next_cycle()
                return status
            elif isinstance(event, h11.ConnectionClosed):
                return None


def counting_table(seen: list[int], round_of: Callable[[], int]) -> HandlerTable:
    async def handle(call: ServerCall) -> None:
        seen.append(round_of())
        await call.receive()
        await asyncio.sleep(0)  # the answer comes a loop turn later, as a real handler's would
        await call.send(b"")

    table = HandlerTable()
    table.add(Handler(PATH, CallKind.UNARY, handle))
    return table


@pytest.mark.asyncio
@pytest.mark.parametrize("close_after", [0, 3, 8, 16])
async def test_every_request_a_handler_saw_is_answered_when_the_server_closes(close_after: int) -> None:
    seen: list[int] = []
    phase = 1
    server = Server(counting_table(seen, lambda: phase))
    await server.start()
    closing: asyncio.Task[None] | None = None
    peers: list[Peer] = []
    try:
        data = request_bytes(server.port)
        for _ in range(CONNECTIONS):
            peers.append(Peer(*await asyncio.open_connection("127.0.0.1", server.port)))
        for peer in peers:
            peer.send(data)
            assert await peer.status() == 200
        phase = 2
        for index, peer in enumerate(peers):  # the next request of each, the close among them
            if index == close_after:
                closing = asyncio.create_task(server.close())
            peer.send(data)
            await asyncio.sleep(0)
        statuses = [await peer.status() for peer in peers]
    finally:
        for peer in peers:
            peer.writer.close()
        await (closing or server.close())
    answered = statuses.count(200)
    assert set(statuses) <= {200, None}, statuses
    assert answered == seen.count(2), statuses


@pytest.mark.asyncio
async def test_a_request_cut_off_in_its_headers_gets_408_and_never_reaches_the_handler() -> None:
    seen: list[int] = []
    server = Server(counting_table(seen, lambda: 1))
    await server.start()
    peer = Peer(*await asyncio.open_connection("127.0.0.1", server.port))
    try:
        data = request_bytes(server.port)
        peer.send(data[:20])  # the request line and part of a header
        await asyncio.sleep(0.2)  # the server has read them: it is waiting for the rest
        closing = asyncio.create_task(server.close())
        status = await peer.status()
        peer.writer.write(data[20:])  # the rest, too late: the server chose to close
        await closing
    finally:
        peer.writer.close()
        await server.close()
    assert (status, seen) == (408, [])
