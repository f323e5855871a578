"""A raw HTTP/2 (h2c prior knowledge) exchange with the h2 library: bytes in, everything out.

For requests no well-behaved client would send (bad envelopes, bad headers) and for reading
the HTTP trailers of native gRPC responses, which httpx cannot.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events


@dataclass
class RawResponse:
    """Status, headers, body and trailers of one HTTP/2 response."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    trailers: dict[str, str] = field(default_factory=dict)
    reset: bool = False

    @property
    def grpc_status(self) -> int | None:
        """grpc-status from the trailers, or from the headers (trailers-only)."""
        raw = self.trailers.get("grpc-status", self.headers.get("grpc-status"))
        return None if raw is None else int(raw)


def h2_request(
    address: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    *,
    method: str = "POST",
    timeout: float = 10.0,
) -> RawResponse:
    """Send one request (headers, body, END_STREAM) and read the whole response."""
    host, _, port = address.rpartition(":")
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="latin-1"))
    conn.initiate_connection()
    out = RawResponse()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(conn.data_to_send())
        stream = conn.get_next_available_stream_id()
        pseudo = [(":method", method), (":scheme", "http"), (":authority", address), (":path", path)]
        conn.send_headers(stream, pseudo + headers, end_stream=not body)
        if body:
            conn.send_data(stream, body, end_stream=True)
        sock.sendall(conn.data_to_send())
        done = False
        while not done:
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                    out.headers = {str(k): str(v) for k, v in event.headers}
                    out.status = int(out.headers.pop(":status"))
                elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
                    out.body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, stream)
                elif isinstance(event, h2.events.TrailersReceived) and event.stream_id == stream:
                    out.trailers = {str(k): str(v) for k, v in event.headers}
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
                    done = True
                elif isinstance(event, h2.events.StreamReset) and event.stream_id == stream:
                    out.reset = done = True
            sock.sendall(conn.data_to_send())
    return out
