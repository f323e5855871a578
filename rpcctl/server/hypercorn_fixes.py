"""rpcctl's changes to hypercorn (0.17/0.18), installed once when a server starts.

hypercorn builds its objects itself, by name: `ProtocolWrapper` an ``H2Protocol`` for each
HTTP/2 connection, ``worker_serve`` a ``TCPServer`` for each accepted connection. `apply`
points those names at rpcctl's subclasses: `rpcctl.server.h2_guard.GuardedH2Protocol`
(overlong frames, rapid reset, late DATA, GOAWAY on close) and
`rpcctl.server.connection_guard.GuardedTCPServer` (header timeout, connection limit, one-line
errors). Nothing else in hypercorn changes.
"""

from __future__ import annotations


def apply() -> None:
    """Install the subclasses in hypercorn's modules (idempotent)."""
    import hypercorn.asyncio.run as hypercorn_run
    import hypercorn.protocol as hypercorn_protocol

    from rpcctl.server.connection_guard import GuardedTCPServer
    from rpcctl.server.h2_guard import GuardedH2Protocol

    hypercorn_protocol.H2Protocol = GuardedH2Protocol  # type: ignore[misc]
    hypercorn_run.TCPServer = GuardedTCPServer  # type: ignore[misc]
