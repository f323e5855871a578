"""rpcctl's HTTP/2 client on its own frame layer (RFC 9113): the one HTTP/2 backend.

Why not the `h2` state machine: with it, a unary call over a static nginx cost about 58 µs of
client CPU, most of it in h2's per-stream state machines and event objects; a bench client
that costs more than the server measures itself. The modules, bottom up:

- `h2_frames`: frame types, flags, settings, builders (sans-IO).
- `h2_hpack`: HPACK encoder and decoder that remember repeated header blocks.
- `h2_stream`: `H2Stream` (one request), `H2Limits`, `NotSent`, `NotHttp2`.
- `whole_response`: `H2Response`, the whole answer of `H2Client.request`.
- `h2_receive` and `h2_conn`: `H2Conn`, the connection as an `asyncio.Protocol`.
- `h2_keepalive`: PING when streams are open and the server went quiet.
- `h2_exchange`: `H2Exchange`, the full-duplex `Exchange` over one stream.
- `h2_client`: `H2Client`, connection establishment, `request` (unary fast path) and `open`.

This module is the public face: import from here.
"""

from __future__ import annotations

from rpcctl.transport.h2_client import DEFAULT_KEEPALIVE_TIME, DEFAULT_KEEPALIVE_TIMEOUT, H2Client
from rpcctl.transport.h2_conn import H2Conn
from rpcctl.transport.h2_exchange import H2Exchange
from rpcctl.transport.h2_stream import H2Limits, H2Stream, NotHttp2, NotSent

__all__ = [
    "DEFAULT_KEEPALIVE_TIME",
    "DEFAULT_KEEPALIVE_TIMEOUT",
    "H2Client",
    "H2Conn",
    "H2Exchange",
    "H2Limits",
    "H2Stream",
    "NotHttp2",
    "NotSent",
]
