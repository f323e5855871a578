"""hypercorn's connection loop with rpcctl's limits: header timeout, connection limit, one-line errors.

`GuardedTCPServer` is hypercorn's asyncio `TCPServer` (one per accepted connection) with:

- a connection limit: past ``max_connections`` a new connection is closed at once (one
  warning line when the server becomes full, not one per refusal);
- a header timeout: while the peer is in the middle of a request's headers (see
  `rpcctl.server.limits.ServerLimits`) the server waits on it ``header_timeout`` seconds in
  all, however slowly it drips (time the server spends busy elsewhere does not count); then
  an HTTP/1.1 peer gets 408 and an HTTP/2 peer GOAWAY(NO_ERROR), and the connection closes
  (the slowloris attack);
- GOAWAY(NO_ERROR) before an idle HTTP/2 connection is closed (RFC 9113 §9.1);
- a closing HTTP/1.1 connection (idle timeout, graceful shutdown) whose next request head
  has already been read is not closed under it: the request is handled and answered, and
  then the connection closes (hypercorn closed it while the request was being handed over,
  so the handler ran and its answer was lost; a client cannot tell whether a POST on a
  closed connection was processed, RFC 9112 §9.3.1). A request cut off in its headers gets
  408, and nothing read after the server chose to close is handled;
- a connection the peer closed ends at once (hypercorn kept it, and its memory, until its
  idle timer ran out);
- a failure of the connection's task logged as one line instead of asyncio's traceback.

The limits travel on hypercorn's `Config` (`rpcctl.server.gate`).
"""

from __future__ import annotations

import asyncio
import logging
from ssl import SSLError
from typing import Any

import h11
from hypercorn.asyncio.tcp_server import MAX_RECV, TCPServer
from hypercorn.events import Closed, Event, RawData, Updated
from hypercorn.protocol.h11 import H11Protocol

from rpcctl.server.errorlog import describe
from rpcctl.server.gate import attach, gate_of
from rpcctl.server.h2_guard import GuardedH2Protocol, peer_text

__all__ = ["GuardedTCPServer", "attach", "awaiting_headers"]

log = logging.getLogger("rpcctl.server")
REQUEST_TIMEOUT = 408  # RFC 9110 §15.5.9
ANSWERED_OR_IDLE = (h11.IDLE, h11.DONE, h11.MUST_CLOSE, h11.CLOSED)  # h11's states of our side


def awaiting_headers(protocol: Any) -> bool:
    """The peer is in the middle of a request's headers (or of an HTTP/2 frame)."""
    if isinstance(protocol, GuardedH2Protocol):
        return protocol.awaiting_headers
    if isinstance(protocol, H11Protocol) and protocol.stream is None:
        if getattr(protocol.connection, "their_state", None) is not h11.IDLE:
            return False  # a whole request head was read (or a WebSocket): not headers
        buffered, _closed = getattr(protocol.connection, "trailing_data", (b"", False))
        return bool(buffered)
    return False


def request_under_way(protocol: Any) -> bool:
    """An HTTP/1.1 request was read (whole head) and not answered yet: closing would lose it."""
    if not isinstance(protocol, H11Protocol):
        return False
    if protocol.stream is not None:
        return True
    return getattr(protocol.connection, "our_state", h11.IDLE) not in ANSWERED_OR_IDLE


class GuardedTCPServer(TCPServer):
    """hypercorn's per-connection server with rpcctl's limits."""

    _reading_ended = False
    _closing = False

    async def run(self) -> None:
        """Serve the connection, unless the server is full."""
        gate = gate_of(self.config)
        if not gate.connections.take():
            self.writer.close()
            return
        try:
            await super().run()
        except Exception as exc:  # one line, not asyncio's traceback per connection
            log.warning("connection of %s failed: %s", peer_text(self._peer()), describe(exc))
        finally:
            gate.connections.give()

    def _peer(self) -> tuple[str, int] | None:
        peer = self.writer.get_extra_info("peername")
        return (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) and len(peer) >= 2 else None

    async def _read_data(self) -> None:
        # hypercorn's loop, with a budget of time spent waiting on a peer that is in the
        # middle of a request's headers (not time the server spent busy elsewhere).
        loop = asyncio.get_running_loop()
        header_timeout = gate_of(self.config).limits.header_timeout
        waited = 0.0
        while not self.reader.at_eof():
            timeout: float | None = self.config.read_timeout
            partial = awaiting_headers(self.protocol.protocol)
            if partial:
                remaining = header_timeout - waited
                timeout = remaining if timeout is None else min(timeout, remaining)
            else:
                waited = 0.0
            started = loop.time()
            try:
                data = await asyncio.wait_for(self.reader.read(MAX_RECV), timeout)
            except (ConnectionError, OSError, TimeoutError, SSLError):
                if partial and waited + loop.time() - started >= header_timeout:
                    await self._headers_too_slow(header_timeout)
                break
            if partial:
                waited += loop.time() - started
            if self._closing:
                break  # the server chose to close: no request read from here on is handled
            await self.protocol.handle(RawData(data))
        # hypercorn kept a closed connection (and its count) until its idle timer ran out.
        self._reading_ended = True
        await self.idle_task.stop()
        await self.protocol.handle(Closed())

    async def protocol_send(self, event: Event) -> None:
        """hypercorn's, except that a connection the peer has left is not put back to idle."""
        if isinstance(event, Updated) and self._reading_ended:
            return
        await super().protocol_send(event)

    async def _headers_too_slow(self, header_timeout: float) -> None:
        peer = peer_text(self._peer())
        log.info("closing the connection of %s: headers incomplete after %g s", peer, header_timeout)
        await self._goodbye()

    async def _goodbye(self) -> None:
        # What a peer hears before the server closes: GOAWAY on HTTP/2, 408 on HTTP/1.1 when
        # a request's headers were under way (whichever timeout ran out first).
        protocol = self.protocol.protocol
        self._closing = isinstance(protocol, H11Protocol)
        if isinstance(protocol, GuardedH2Protocol):
            await protocol.goaway()
        elif isinstance(protocol, H11Protocol) and awaiting_headers(protocol):
            try:
                await protocol._send_error_response(REQUEST_TIMEOUT)
            except Exception:  # h11 refuses when a response cannot be sent now: just close
                log.debug("no 408 for %s", peer_text(self._peer()))

    async def _initiate_server_close(self) -> None:
        # hypercorn's idle task (idle timeout, graceful shutdown) may run here just after the
        # reader took in the next request: that request is answered, then hypercorn closes
        # the connection itself (it does not recycle it once the server is terminating).
        if request_under_way(self.protocol.protocol):
            return
        await self._goodbye()
        await super()._initiate_server_close()
