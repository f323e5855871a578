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
CONNECTIONS_FULL = "connections open: refusing new ones until some close"
CALLS_FULL = "calls in progress: refusing new streams until some end"


class Allowance:
    """A count of things open against a limit; one warning line each time it becomes full
    (again only after a tenth of the limit was free, so a full server does not flap)."""

    def __init__(self, limit: int, full_message: str) -> None:
        self.limit = limit
        self.count = 0
        self.refused = 0
        self._full_message = full_message
        self._full = False

    def take(self) -> bool:
        """Count one in; False (refuse it) when `limit` are already open."""
        if self.count >= self.limit:
            self.refused += 1
            if not self._full:
                self._full = True
                log.warning("%d %s", self.count, self._full_message)
            return False
        self.count += 1
        return True

    def give(self) -> None:
        """Count one out; the next warning waits until a tenth of the limit is free again."""
        self.count -= 1
        self._full = self._full and self.count > self.limit - max(1, self.limit // 10)


class ConnectionGate:
    """One server's open connections and HTTP/2 calls in progress, counted against its limits."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.connections = Allowance(limits.max_connections, CONNECTIONS_FULL)
        self.calls = Allowance(limits.max_calls, CALLS_FULL)


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
