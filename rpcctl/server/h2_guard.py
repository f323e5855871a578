"""hypercorn's HTTP/2 connection, guarded against what hostile or careless peers send.

`GuardedH2Protocol` is hypercorn's `H2Protocol` (0.17/0.18, over h2) with these changes:

- **Overlong frames** (RFC 9113 §4.2): every frame header is read as it arrives
  (`rpcctl.server.frame_scan`); one declaring more than the advertised SETTINGS_MAX_FRAME_SIZE
  ends the connection with GOAWAY(FRAME_SIZE_ERROR) before its payload is held in memory.
- **Rapid reset** (CVE-2023-44487): a stream whose HEADERS and RST_STREAM arrive in the same
  read is never handed to the application, and streams the client resets draw on a budget of
  `RESET_BURST` refilled at `RESET_RATE` a second; an empty budget ends the connection with
  GOAWAY(ENHANCE_YOUR_CALM) and one log line. So does hypercorn's priority tree overflowing
  (``priority.TooManyStreamsError``), which used to tear the connection down with a traceback.
- **Late DATA**: hypercorn forgets a stream once its response is complete, and the next DATA
  frame of a client still sending (an RPC answered early: unknown method, size limit, a
  handler that returns before reading every request) raised KeyError and killed every other
  stream on the connection. Such frames are acknowledged and dropped (the stream is only
  half-closed, so HTTP/2 allows them) and their flow-control window is returned.
- **Calls in progress**: past the server's ``max_calls`` (over all connections) a new stream
  is refused with RST_STREAM(REFUSED_STREAM) before any handler runs (RFC 9113 §8.7).
- **Closing**: `goaway` sends GOAWAY before the server closes a connection itself (idle
  timeout, header timeout), as RFC 9113 §9.1 asks.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import h2.errors
import h2.events
import h2.exceptions
import priority
from hypercorn.events import Closed, Event, RawData, Updated
from hypercorn.protocol.h2 import H2Protocol

from rpcctl.server.frame_scan import FrameScanner
from rpcctl.server.gate import gate_of
from rpcctl.server.limits import RESET_BURST, RESET_RATE
from rpcctl.transport.h2_frames import ENHANCE_YOUR_CALM, FRAME_SIZE_ERROR, NO_ERROR

log = logging.getLogger("rpcctl.server")


class ResetBudget:
    """A token bucket of stream resets: `burst` at once, refilled at `rate` per second."""

    def __init__(self, burst: int = RESET_BURST, rate: float = RESET_RATE) -> None:
        self.burst = burst
        self.rate = rate
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        """Spend one reset; False once the budget is empty."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


def peer_text(client: tuple[str, int] | None) -> str:
    """``host:port`` of a peer, or ``a peer`` when unknown (unix sockets)."""
    return f"{client[0]}:{client[1]}" if client else "a peer"


class GuardedH2Protocol(H2Protocol):
    """hypercorn's HTTP/2 protocol with the guards of this module."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scanner = FrameScanner(self.connection.max_inbound_frame_size)
        self.resets = ResetBudget()
        self.refused = False
        self.gate = gate_of(self.config)
        self._counted: set[int] = set()  # streams counted in the gate's calls

    async def initiate(
        self, headers: list[tuple[bytes, bytes]] | None = None, settings: bytes | None = None
    ) -> None:
        """Start the connection; one without a request yet is idle (its idle timeout runs)."""
        await super().initiate(headers, settings)
        if headers is None:
            # hypercorn's HTTP/1.1 side stopped the idle timer when it saw the preface's
            # "PRI * HTTP/2.0" request line, and nothing restarted it.
            await self.send(Updated(idle=self.idle))

    @property
    def awaiting_headers(self) -> bool:
        """The peer started the preface, a frame or a header block and has not finished it."""
        return not self.refused and self.scanner.partial

    async def handle(self, event: Event) -> None:
        """Check frame lengths at their headers before hypercorn and h2 see the bytes."""
        if isinstance(event, RawData):
            if self.refused:
                return
            self.scanner.max_frame_size = self.connection.max_inbound_frame_size
            length = self.scanner.feed(event.data)
            if length is not None:
                limit = self.scanner.max_frame_size
                await self.refuse(FRAME_SIZE_ERROR, f"a frame of {length} bytes, over the {limit} advertised")
                return
        await super().handle(event)
        if isinstance(event, Closed):
            for stream_id in list(self._counted):
                await self._close_stream(stream_id)

    async def _handle_events(self, events: list[h2.events.Event]) -> None:
        # A stream opened and reset by the same read never reaches the application: no
        # handler runs for it, and a proxy opens no upstream call for it.
        reset = {e.stream_id for e in events if isinstance(e, h2.events.StreamReset) and e.remote_reset}
        # One event at a time: a stream can close while an earlier event is handled.
        for event in events:
            if self.refused:
                return
            if isinstance(event, h2.events.RequestReceived) and event.stream_id in reset:
                continue
            if isinstance(event, h2.events.RequestReceived) and not self.gate.calls.take():
                self.connection.reset_stream(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                await self._flush()
                continue
            if isinstance(event, h2.events.RequestReceived):
                self._counted.add(event.stream_id)
            if isinstance(event, h2.events.DataReceived) and event.stream_id not in self.streams:
                self.connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                await self._flush()
                continue
            if isinstance(event, h2.events.StreamReset) and event.remote_reset and not self.resets.take():
                await self.refuse(ENHANCE_YOUR_CALM, f"more than {RESET_BURST} streams reset at once")
                return
            try:
                await super()._handle_events([event])
            except priority.TooManyStreamsError:
                await self.refuse(ENHANCE_YOUR_CALM, "too many streams at once")
                return

    async def _close_stream(self, stream_id: int) -> None:
        if stream_id in self._counted:
            self._counted.discard(stream_id)
            self.gate.calls.give()
        await super()._close_stream(stream_id)

    async def goaway(self, code: int = NO_ERROR, debug: bytes | None = None) -> None:
        """Send GOAWAY with `code` (if the connection still can) and flush it."""
        if self.closed:
            return
        try:
            self.connection.close_connection(error_code=code, additional_data=debug)
        except h2.exceptions.ProtocolError:
            return
        await self._flush()

    async def refuse(self, code: int, reason: str) -> None:
        """End the connection with GOAWAY(`code`) and one warning line naming the peer."""
        self.refused = True
        name = h2.errors.ErrorCodes(code).name
        peer = peer_text(self.client)
        log.warning("closing the HTTP/2 connection of %s: %s (GOAWAY %s)", peer, reason, name)
        await self.goaway(code, reason.encode("ascii", "replace"))
        await self.send(Closed())
