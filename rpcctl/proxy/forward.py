"""Serving the recording proxy: our server, with a `Relay` to the upstream for every path.

`serve_proxy` listens (HTTP/1.1 and h2c on one port, TLS, unix sockets: `rpcctl.server`) and
hands every call to `rpcctl.proxy.relay.Relay`, which passes it to the upstream byte for byte
and publishes the events (START, REQUEST, RESPONSE, END) on the bus. No reflection or health
is served locally, so those calls reach the upstream too.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any

from rpcctl.server.call import HandlerTable
from rpcctl.transport.target import ChannelSettings, Target

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from rpcctl.call_events import EventBus
    from rpcctl.schema.registry import Schema
    from rpcctl.server.serve import Server


def proxy_table(
    upstream: ChannelSettings | str, bus: EventBus | None = None, schema: Schema | None = None
) -> HandlerTable:
    """A handler table whose relay passes every call to `upstream` as bytes.

    The relay is `table.relay`; close it with `await table.relay.aclose()`.
    """
    from rpcctl.proxy.relay import Relay

    return HandlerTable(relay=Relay(upstream, bus, schema))


@contextlib.asynccontextmanager
async def serve_proxy(
    upstream: ChannelSettings | str,
    *,
    listen: str = "127.0.0.1:0",
    bus: EventBus | None = None,
    schema: Schema | None = None,
    prefix: str | None = None,
    upstream_http2: bool | None = None,
    upstream_headers: tuple[tuple[str, str], ...] = (),
    **server_options: Any,
) -> AsyncIterator[Server]:
    """Serve a recording proxy in front of `upstream` in the running loop, for the block.

    `prefix` (by default the upstream URL's path prefix, so clients keep their URLs) is
    stripped from incoming paths; the upstream's prefix is added back. The relay publishes
    the events on `bus` and the server gets no bus, so no event is doubled.
    `upstream_http2` chooses the upstream's HTTP version (True: h2c prior knowledge, False:
    HTTP/1.1; None: h2c first, HTTP/1.1 if the upstream lacks HTTP/2); `upstream_headers`
    are added to every request it forwards.
    Other options go to `rpcctl.server.serve.Server` (certfile, keyfile, max_message_size).
    """
    from rpcctl.proxy.relay import Relay
    from rpcctl.server.serve import serve

    if isinstance(upstream, str):
        upstream = ChannelSettings(Target.parse(upstream))
    if upstream_http2 is not None:
        upstream = dataclasses.replace(upstream, http2=upstream_http2)
    relay = Relay(upstream, bus, schema, headers=upstream_headers)
    if prefix is None:
        prefix = relay.settings.target.prefix
    try:
        async with serve(HandlerTable(relay=relay), listen=listen, prefix=prefix, **server_options) as server:
            yield server
    finally:
        await relay.aclose()
