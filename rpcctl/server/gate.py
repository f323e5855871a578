"""What one server has open, counted against its `ServerLimits`: connections and HTTP/2 calls.

hypercorn creates the per-connection objects itself, so the gate travels on its `Config`
(`attach`, `gate_of`). Refusals are logged once when the server becomes full, not once each.
"""

from __future__ import annotations

import logging
from typing import Any

from rpcctl.server.limits import ServerLimits

log = logging.getLogger("rpcctl.server")
CONFIG_ATTRIBUTE = "rpcctl_gate"


class ConnectionGate:
    """One server's open connections and HTTP/2 calls in progress, counted against its limits."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.open = 0
        self.calls = 0
        self.refused = 0
        self._full = False
        self._busy = False

    def enter(self) -> bool:
        """Count a new connection in; False (and it must be closed) when the server is full."""
        if self.open >= self.limits.max_connections:
            self.refused += 1
            if not self._full:
                self._full = True
                log.warning("%d connections open: refusing new ones until some close", self.open)
            return False
        self.open += 1
        return True

    def leave(self) -> None:
        """Count a connection out."""
        self.open -= 1
        if self.open < self.limits.max_connections:
            self._full = False

    def start_call(self) -> bool:
        """Count an HTTP/2 call in; False (refuse the stream) when `max_calls` are running."""
        if self.calls >= self.limits.max_calls:
            if not self._busy:
                self._busy = True
                log.warning("%d calls in progress: refusing new streams until some end", self.calls)
            return False
        self.calls += 1
        return True

    def end_call(self) -> None:
        """Count an HTTP/2 call out."""
        self.calls -= 1
        if self.calls < self.limits.max_calls:
            self._busy = False


def attach(config: Any, limits: ServerLimits) -> ConnectionGate:
    """Give a hypercorn `Config` the gate its connections use, and the timeouts it applies itself."""
    gate = ConnectionGate(limits)
    setattr(config, CONFIG_ATTRIBUTE, gate)
    config.keep_alive_timeout = limits.idle_timeout
    config.ssl_handshake_timeout = limits.header_timeout
    return gate


def gate_of(config: Any) -> ConnectionGate:
    """The gate `attach` gave `config` (a default one for a config nobody prepared)."""
    gate = getattr(config, CONFIG_ATTRIBUTE, None)
    return gate if isinstance(gate, ConnectionGate) else attach(config, ServerLimits())
