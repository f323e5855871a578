"""Helpers of the transport contract suite: the two backends behind one face, and the peers.

`Backend` opens `Exchange`s through `H2Client.open` or `H1Pool.open` with the same arguments,
so one test body runs on both. The peers: hypercorn (a real server nobody here wrote, HTTP/1.1,
h2c and TLS with ALPN on one port) serving `app`; the raw-frame HTTP/2 server for the cases no
framework sends on demand (GOAWAY with streams it never saw) is
`tests.transport.test_lean_h2_frames.raw_h2`.
"""

from __future__ import annotations

import ssl
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from rpcctl.protocols.exchange import RequestHead
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.exchange import Exchange
from rpcctl.transport.lean_h1 import H1Pool
from rpcctl.transport.lean_h2 import H2Client
from tests.transport import h1_peers
from tests.transport.h1_peers import Receive, Scope, Send

LIMIT = 10.0  # seconds any contract test waits for anything
H2 = "HTTP/2"
H1 = "HTTP/1.1"
ALPN = {H2: "h2", H1: "http/1.1"}


@dataclass
class Backend:
    """One wire backend, opened on an endpoint: `open` as `Opener.open` has it."""

    version: str  # "HTTP/2" or "HTTP/1.1"
    client: Any  # H2Client | H1Pool
    authority: str
    scheme: str

    @classmethod
    def on(cls, version: str, endpoint: Endpoint, authority: str = "localhost") -> Backend:
        """The backend ``version`` to ``endpoint`` (nothing connects before the first `open`)."""
        scheme = "https" if endpoint.ssl_context is not None else "http"
        client: Any = H2Client(endpoint) if version == H2 else H1Pool(endpoint)
        return cls(version, client, authority, scheme)

    async def open(self, head: RequestHead, body: bytes | None = None) -> Exchange:
        """Start a request (``body`` None: the body streams through `Exchange.write`)."""
        if self.version == H2:
            exchange: Exchange = await self.client.open(
                head, scheme=self.scheme, authority=self.authority, body=body
            )
        else:
            exchange = await self.client.open(head, host=self.authority, body=body)
        return exchange

    @property
    def connections_opened(self) -> int:
        """Connections the backend opened so far."""
        return int(self.client.connections_opened)

    async def aclose(self) -> None:
        """Close every connection."""
        await self.client.aclose()


def client_tls(cafile: str, version: str) -> ssl.SSLContext:
    """A client TLS context trusting ``cafile`` that offers only ``version`` by ALPN."""
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols([ALPN[version]])
    return context


async def body_of(exchange: Exchange) -> bytes:
    """The rest of the response body."""
    out = bytearray()
    while (chunk := await exchange.read()) is not None:
        out += chunk
    return bytes(out)


# --- hypercorn ---------------------------------------------------------------------------------


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """`tests.transport.h1_peers.app`, plus ``/version`` (the HTTP version the server saw)."""
    if scope["type"] == "http" and scope["path"] == "/version":
        body = f"{scope['http_version']} {scope['scheme']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    await h1_peers.app(scope, receive, send)


def hypercorn(
    *,
    unix_path: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    max_streams: int | None = None,
) -> AbstractAsyncContextManager[int]:
    """Serve `app` with hypercorn on 127.0.0.1 port 0 (or ``unix_path``); yields the port."""
    return h1_peers.hypercorn_server(
        unix_path=unix_path, certfile=certfile, keyfile=keyfile, max_streams=max_streams, asgi_app=app
    )
