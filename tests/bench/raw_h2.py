"""A scripted h2c server on loopback for the native gRPC bench tests: one canned answer per request.

Real gRPC servers never send most of these answers (no trailers, two messages, a reset), so
tests can check how a client reports each one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from tests.support.loopback import on_a_thread, serving

LIMIT = 5.0  # seconds to start or stop the threaded server
HI = b"\x0a\x02hi"  # EchoRequest/EchoResponse{message: "hi"}


def envelope(flags: int, data: bytes) -> bytes:
    return bytes([flags]) + len(data).to_bytes(4, "big") + data


@dataclass(frozen=True)
class Answer:
    """A response: status and headers, then body (None: none) and trailers (None: none), or a reset."""

    status: str = "200"
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/grpc"),)
    body: bytes | None = envelope(0, HI)
    trailers: tuple[tuple[str, str], ...] | None = (("grpc-status", "0"),)
    reset: int | None = None


@dataclass
class ScriptedH2:
    """An h2c server answering every request with `answer`; it keeps what it received."""

    answer: Answer
    port: int = 0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        heads: dict[int, dict[str, str]] = {}
        bodies: dict[int, bytes] = {}
        try:
            while data := await reader.read(65536):
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        heads[event.stream_id] = dict(event.headers)  # type: ignore[arg-type]
                        bodies[event.stream_id] = b""
                    elif isinstance(event, h2.events.DataReceived):
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                        bodies[event.stream_id] += event.data
                    elif isinstance(event, h2.events.StreamEnded):
                        self.requests.append((heads[event.stream_id], bodies[event.stream_id]))
                        self._respond(conn, event.stream_id)
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, h2.exceptions.H2Error):
            pass
        finally:
            writer.close()

    def _respond(self, conn: h2.connection.H2Connection, stream_id: int) -> None:
        answer = self.answer
        if answer.reset is not None:
            conn.reset_stream(stream_id, answer.reset)
            return
        only_headers = answer.body is None and answer.trailers is None
        conn.send_headers(stream_id, [(":status", answer.status), *answer.headers], end_stream=only_headers)
        if answer.body is not None:
            conn.send_data(stream_id, answer.body, end_stream=answer.trailers is None)
        if answer.trailers is not None:
            conn.send_headers(stream_id, list(answer.trailers), end_stream=True)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ScriptedH2]:
        async with serving(self._serve) as self.port:
            yield self


@contextlib.contextmanager
def scripted_in_a_thread(answer: Answer) -> Iterator[int]:
    """A `ScriptedH2` on a loop of its own (a bench run in this thread has its own loop); its port."""
    with on_a_thread(ScriptedH2(answer), LIMIT) as server:
        yield server.port
