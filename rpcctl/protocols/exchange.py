"""What a client protocol hands to a transport, and what it expects back (the seams).

`RequestHead` is the HTTP request line and headers; `ResponseDecoder` turns one HTTP response
into messages and a final status; `ClientProtocol` is the strategy each protocol implements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from rpcctl.errors import Status
from rpcctl.wire.metadata import Metadata

USER_AGENT = "rpcctl/0.1"


@dataclass(frozen=True)
class RequestHead:
    """An HTTP request without its body: method, path (prefix and query included), headers."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lowercase), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


class ResponseDecoder(Protocol):
    """Interprets one HTTP response: feed it the status, headers and body bytes."""

    headers: Metadata
    trailers: Metadata
    status: Status | None

    def start(self, http_status: int, headers: Metadata) -> None:
        """Take the status line and headers; raise `RpcError` if the call already failed."""

    def feed(self, data: bytes) -> list[bytes]:
        """Take body bytes in any chunking; return the response messages they complete."""

    def take_trailers(self, trailers: Metadata) -> None:
        """The HTTP trailers, given once the body ended, before `finish` (empty if none came)."""

    def finish(self) -> list[bytes]:
        """Declare the end of the body; return the last messages, or raise `RpcError`."""


class ClientProtocol(Protocol):
    """The client half of a wire protocol for one call."""

    def unary_request(self, message: bytes) -> tuple[RequestHead, bytes | None]:
        """The head and body of a request that carries exactly one message."""

    def stream_head(self) -> RequestHead:
        """The head of a request whose messages follow through `encode_message`."""

    def encode_message(self, message: bytes) -> bytes:
        """One request message as body bytes of a streamed request."""

    def new_decoder(self) -> ResponseDecoder:
        """A decoder for the response to this call."""
