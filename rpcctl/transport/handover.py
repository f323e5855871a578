"""A stand-in protocol that holds a connection while it is being set up, then hands it over.

`Endpoint.connect` opens TCP (to the server or a proxy), maybe talks CONNECT, maybe starts TLS,
and only then gives the connection to the client's protocol. Until then this `Handover` owns
it: it keeps what arrives (the proxy's answer, early server bytes, end of file) so that the
client's protocol sees exactly one ``connection_made`` with the final transport, then every
byte meant for it, in order, and never the proxy's bytes.
"""

from __future__ import annotations

import asyncio
import re

_HEAD_END = rb"\r?\n\r?\n"  # `re` compiles it on first use: only a proxy's answer has a head here


class HeadTooLarge(Exception):
    """The response head did not end within the size allowed."""


class Handover(asyncio.Protocol):
    """Buffers a connection's events until `hand_to` gives it to the real protocol."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._wake = asyncio.Event()
        self.eof = False
        self.lost = False
        # asyncio's TLS layer ignores (and logs) True from eof_received: say it only in plaintext.
        self.over_tls = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Nothing to send yet: the caller writes through the transport it was given."""

    def data_received(self, data: bytes) -> None:
        """Keep the bytes for `read_head` or for the real protocol."""
        self._buffer += data
        self._wake.set()

    def eof_received(self) -> bool:
        """Keep the transport half open: the real protocol decides what end of file means."""
        self.eof = True
        self._wake.set()
        return not self.over_tls

    def connection_lost(self, exc: Exception | None) -> None:
        """Remember that the connection is gone, so setup fails instead of waiting."""
        self.lost = True
        self._wake.set()

    @property
    def buffered(self) -> int:
        """How many received bytes are waiting."""
        return len(self._buffer)

    async def read_head(self, limit: int) -> bytes | None:
        """The next HTTP head (up to its blank line, which is dropped); None if the peer ended first.

        Bytes after the head stay buffered for the real protocol. `HeadTooLarge` past ``limit``.
        """
        # Each round either finds the end, fails, or waits for more bytes; more than `limit`
        # bytes fail, so the rounds are bounded by the bytes that may arrive.
        for _ in range(limit + 2):
            found = re.search(_HEAD_END, self._buffer)
            if found is not None and found.start() <= limit:
                head = bytes(self._buffer[: found.start()])
                del self._buffer[: found.end()]
                return head
            if len(self._buffer) > limit:
                raise HeadTooLarge
            if self.eof or self.lost:
                return None
            self._wake.clear()
            await self._wake.wait()
        raise HeadTooLarge

    def hand_to(self, protocol: asyncio.BaseProtocol, transport: asyncio.Transport) -> None:
        """Make ``protocol`` the transport's protocol and replay what arrived before it."""
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        data, self._buffer = bytes(self._buffer), bytearray()
        if data and not transport.is_closing():
            deliver(protocol, data)
        if self.eof and not transport.is_closing():
            receiver = getattr(protocol, "eof_received", None)
            if receiver is None or not receiver():
                transport.close()


def deliver(protocol: asyncio.BaseProtocol, data: bytes) -> None:
    """Feed ``data`` to a plain or buffered protocol as its transport would."""
    if isinstance(protocol, asyncio.BufferedProtocol):
        view = memoryview(data)
        # Each round moves at least one byte or stops, so it is bounded by len(data).
        while view:
            buffer = memoryview(protocol.get_buffer(len(view))).cast("B")
            count = min(len(buffer), len(view))
            if count == 0:
                return
            buffer[:count] = view[:count]
            protocol.buffer_updated(count)
            view = view[count:]
    elif isinstance(protocol, asyncio.Protocol):
        protocol.data_received(data)
