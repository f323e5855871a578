"""Bounded collection of a whole response body (Connect unary bodies, error pages)."""

from __future__ import annotations

from rpcctl.errors import ProtocolError
from rpcctl.wire.status import Code

# Enough of a non-RPC error page (HTML 502, a router's 404) to show its start.
SNIPPET_BYTES = 4096


class BodyBuffer:
    """Collects body bytes up to ``limit``; past it, either truncates or fails."""

    __slots__ = ("_buf", "_limit", "_truncate", "total")

    def __init__(self, limit: int, *, truncate: bool = False) -> None:
        self._buf = bytearray()
        self._limit = limit
        self._truncate = truncate
        self.total = 0

    def add(self, data: bytes) -> None:
        """Append ``data``; raise RESOURCE_EXHAUSTED past the limit unless truncating."""
        self.total += len(data)
        room = self._limit - len(self._buf)
        if len(data) <= room:
            self._buf += data
            return
        if not self._truncate:
            raise ProtocolError(
                Code.RESOURCE_EXHAUSTED,
                f"response body is larger than the configured max of {self._limit} bytes",
            )
        self._buf += data[: max(room, 0)]

    def getvalue(self) -> bytes:
        """The bytes collected."""
        return bytes(self._buf)


def declared_past(content_length: str, limit: int) -> bool:
    """Whether an ASCII-digit content-length (RFC 9110 §8.6) is above ``limit`` bytes; any
    other text is False (left to the transport), and no digit count costs an int conversion."""
    if not content_length.isascii() or not content_length.isdigit():
        return False
    digits = content_length.lstrip("0")
    return len(digits) > len(str(limit)) or (bool(digits) and int(digits) > limit)
