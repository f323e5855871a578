"""Whole responses: what `H1Pool.request` and `H2Client.request` return (bench's unary hot path).

Status, headers (names lowercase, bytes) and the whole body; over HTTP/2 the trailers too. A
module of their own: a one-off call reads its answer through an `Exchange` and never needs
them, and creating a slotted dataclass costs ~0.5 ms of every start. The pool or connection
that returns them imports this module at its first whole request and keeps the class, so a
request pays no import.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response: status, headers (names lowercase, bytes) and the whole body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lowercase), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class H2Response:
    """A complete response: status, headers and trailers (names lowercase, bytes), the body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    trailers: list[tuple[bytes, bytes]]
