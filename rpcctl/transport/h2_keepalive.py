"""Keepalive for an HTTP/2 connection: PING when streams are open and the server went quiet.

A connection whose peer vanished (a laptop asleep, a NAT that forgot us, a server frozen)
never errors by itself: every stream on it would wait forever. gRPC's keepalive (gRPC
doc/keepalive.md) answers that with PING (RFC 9113 §6.7): when nothing has arrived for
``interval`` seconds while streams are open, send one; when nothing at all arrives within
``timeout`` seconds after it, the connection is dead.

gRPC servers punish clients that ping too often (grpc-go and grpc-core: a ping less than
5 minutes after the previous one, with no data sent in between, is a strike; the third
strike is GOAWAY ENHANCE_YOUR_CALM). So after a ping was answered and nothing else arrived,
the next ping waits `QUIET_INTERVAL` (the servers' minimum) instead: a dead peer is still
found within minutes on a long idle stream, and a live but quiet one is never struck.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

QUIET_INTERVAL = 300.0  # gRPC servers' default minimum time between pings without data


class Keepalive:
    """One timer per connection; the connection stamps `received` whenever bytes arrive."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        interval: float,
        timeout: float,
        *,
        busy: Callable[[], bool],
        ping: Callable[[], None],
        dead: Callable[[float], None],
    ) -> None:
        self.received = loop.time()
        self._loop = loop
        self._interval = interval
        self._timeout = timeout
        self._busy = busy
        self._ping = ping
        self._dead = dead
        self._pinged_at: float | None = None
        self._acked_at: float | None = None
        self._timer: asyncio.TimerHandle | None = loop.call_later(interval, self._check)

    def acked(self) -> None:
        """A PING ACK arrived (our ping was answered)."""
        self._acked_at = self._loop.time()

    def stop(self) -> None:
        """Cancel the timer (the connection ended)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, delay: float) -> None:
        self._timer = self._loop.call_later(max(delay, 0.001), self._check)

    def _check(self) -> None:
        now = self._loop.time()
        if self._pinged_at is not None:
            if self.received > self._pinged_at:
                self._pinged_at = None  # anything at all proves the peer alive
            elif now - self._pinged_at >= self._timeout:
                self._timer = None
                self._dead(now - self.received)
                return
            else:
                self._arm(self._pinged_at + self._timeout - now)
                return
        if not self._busy():
            self._arm(self._interval)
            return
        wait = self._interval
        if self._acked_at is not None and self.received <= self._acked_at:
            wait = max(wait, QUIET_INTERVAL)  # only our last ping's answer came: do not nag
        quiet = now - self.received
        if quiet < wait:
            self._arm(wait - quiet)
            return
        self._pinged_at = now
        self._ping()
        self._arm(self._timeout)
