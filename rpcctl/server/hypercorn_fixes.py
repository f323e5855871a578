"""A fix for hypercorn's HTTP/2 protocol, applied once when a server starts.

hypercorn (0.18) forgets a stream as soon as its response is complete. When the client is
still sending (an RPC the server answered early: unknown method, bad header, size limit,
a handler that returns before reading every request), the next DATA frame for that stream
raises KeyError in ``H2Protocol._handle_events`` and tears the whole connection down, every
other stream on it included. The fix acknowledges and drops such frames (HTTP/2 allows
them: the stream is only half-closed), so the flow-control window is returned too.
"""

from __future__ import annotations

from typing import Any

_PATCHED = "_rpcctl_drops_late_data"


def apply() -> None:
    """Patch ``hypercorn.protocol.h2.H2Protocol._handle_events`` (idempotent)."""
    import h2.events
    from hypercorn.protocol import h2 as hypercorn_h2

    protocol: Any = hypercorn_h2.H2Protocol
    if getattr(protocol, _PATCHED, False):
        return
    original = protocol._handle_events

    async def handle_events(self: Any, events: list[Any]) -> None:
        # One event at a time: a stream can close while an earlier event is handled.
        for event in events:
            if isinstance(event, h2.events.DataReceived) and event.stream_id not in self.streams:
                self.connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                await self._flush()
                continue
            await original(self, [event])

    protocol._handle_events = handle_events
    setattr(protocol, _PATCHED, True)
