"""What a server answered a probe (`rpcctl.transport.pool.HttpPool.probe`).

Its own module: only a failed call probes (`rpcctl.hints`), so a call that works never
builds the record's class.
"""

from __future__ import annotations

from dataclasses import dataclass

from rpcctl.wire.metadata import Metadata


@dataclass(frozen=True)
class ProbeAnswer:
    """A probe's answer: HTTP status, headers and trailers (empty when it was cut short)."""

    status: int
    headers: Metadata
    trailers: Metadata
