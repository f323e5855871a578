"""The HTTP/2 guards in a server of this process: what a handler sees of the attacks.

A counting handler shows that streams opened and reset in one read never reach the
application, that streams past the call limit are refused before any handler runs, and
that a normal call answers afterwards. (tests/attacks runs the attacks against processes.)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from rpcctl.schema.registry import CallKind
from rpcctl.server.call import Handler, HandlerTable, ServerCall
from rpcctl.server.limits import RESET_BURST, ServerLimits
from rpcctl.server.serve import Server
from tests.attacks import peers
from tests.conftest import Certs
from tests.server.conftest import ServerThread
from tests.server.h2_raw import h2_request

PATH = "/raw.Svc/Count"
GRPC = [("content-type", "application/grpc"), ("te", "trailers")]
MAX_CALLS = 10


class Counting:
    """Counts the calls that reached the handler."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    async def handle(self, call: ServerCall) -> None:
        with self.lock:
            self.calls += 1
        await call.receive()
        await call.send(b"")


@pytest.fixture
def counting() -> Counting:
    return Counting()


@pytest.fixture
def guarded(counting: Counting) -> Iterator[Server]:
    table = HandlerTable()
    table.add(Handler(PATH, CallKind.UNARY, counting.handle))
    with ServerThread(table=table, limits=ServerLimits(idle_timeout=30, max_calls=MAX_CALLS)) as served:
        yield served


def address(server: Server) -> tuple[str, int]:
    return ("127.0.0.1", server.port)


def call_ok(server: Server) -> bool:
    return h2_request(server.address, PATH, GRPC, b"\0\0\0\0\0").grpc_status == 0


def test_streams_reset_in_the_read_that_opened_them_never_reach_the_handler(
    guarded: Server, counting: Counting
):
    outcome = peers.rapid_reset(address(guarded), streams=RESET_BURST // 2, deadline=10)
    assert outcome.goaway is None  # under the budget: the connection stays
    assert call_ok(guarded)
    assert counting.calls == 1  # the normal call only


def test_rapid_reset_past_the_budget_gets_enhance_your_calm(guarded: Server, counting: Counting):
    outcome = peers.rapid_reset(address(guarded), streams=5 * RESET_BURST, deadline=10)
    assert outcome.goaway == peers.ENHANCE_YOUR_CALM
    assert outcome.closed
    assert call_ok(guarded)
    assert counting.calls == 1


def test_streams_past_the_call_limit_are_refused(guarded: Server):
    outcome = peers.open_streams(address(guarded), streams=3 * MAX_CALLS, hold=1)
    assert outcome.refused == 2 * MAX_CALLS
    assert outcome.goaway is None
    assert call_ok(guarded)  # the held calls ended with their connection


def test_overlong_frame_gets_frame_size_error_before_its_payload(guarded: Server):
    outcome = peers.oversized_data(address(guarded), declared=2**14 + 1, send=0, deadline=10)
    assert outcome.goaway == peers.FRAME_SIZE_ERROR
    assert outcome.closed
    assert call_ok(guarded)


def served_once(server: Server) -> bool:
    """Open an HTTP/2 connection, see the server's SETTINGS, close it."""
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(peers.PREFACE + peers.frame(peers.SETTINGS, 0, 0))
        try:
            return bool(sock.recv(peers.CHUNK))
        except ConnectionResetError:  # refused: the limit is still taken
            return False


def test_a_connection_the_peer_closed_is_counted_out_before_its_idle_timeout(counting: Counting):
    table = HandlerTable()
    table.add(Handler(PATH, CallKind.UNARY, counting.handle))
    # hypercorn kept such a connection until its idle timer (here 600 s) ran out.
    with ServerThread(table=table, limits=ServerLimits(idle_timeout=600, max_connections=1)) as served:
        assert served_once(served)
        # Counting out takes the server a moment: up to 50 tries, 0.1 s apart.
        assert any(served_once(served) or time.sleep(0.1) for _ in range(50))


def test_tls_handshake_never_finished_is_closed_after_the_header_timeout(counting: Counting, certs: Certs):
    table = HandlerTable()
    table.add(Handler(PATH, CallKind.UNARY, counting.handle))
    limits = ServerLimits(header_timeout=0.5)
    with ServerThread(table=table, certfile=certs.cert, keyfile=certs.key, limits=limits) as served:
        # A TCP connection that never starts its TLS handshake: the server closes it.
        outcome = peers.idle(address(served), deadline=20, http2=False)
        assert outcome.closed
        assert outcome.received == b""
