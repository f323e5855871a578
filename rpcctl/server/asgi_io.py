"""One HTTP exchange as ASGI sees it: read the request body, write the response.

The only module of the server that speaks ASGI messages; everything above it deals in
bytes, `ResponseHead` and `ResponseEnd`. Writes to a client that went away are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from rpcctl.protocols.base_server import ResponseEnd, ResponseHead

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TRAILERS_EXTENSION = "http.response.trailers"

log = logging.getLogger("rpcctl.server")


class Disconnected(Exception):
    """The client went away (connection closed or HTTP/2 stream reset)."""


def scope_headers(scope: Scope) -> list[tuple[str, str]]:
    """The request headers as text pairs (names lowercase, as ASGI gives them)."""
    return [(bytes(k).decode("latin-1"), bytes(v).decode("latin-1")) for k, v in scope.get("headers", ())]


def peer_of(scope: Scope) -> str:
    """``host:port`` of the client, or ``""`` (unix sockets have none)."""
    client = scope.get("client")
    if not client:
        return ""
    host, port = client[0], client[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _encode(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


class AsgiIO:
    """Reads the request body and writes one response through ASGI callables."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.http_version = str(scope.get("http_version", "1.1"))
        self.supports_trailers = TRAILERS_EXTENSION in (scope.get("extensions") or {})
        self._body_done = False
        self.started = False
        self.finished = False
        self.gone = False
        self._trailers = False

    async def read_chunk(self) -> bytes | None:
        """The next chunk of the request body, None at its end; Disconnected if the client left."""
        while not self._body_done:
            message = await self._receive()
            kind = message.get("type")
            if kind == "http.disconnect":
                self.gone = True
                raise Disconnected
            if kind != "http.request":
                continue
            self._body_done = not message.get("more_body", False)
            body = message.get("body", b"")
            if body:
                return bytes(body)
        return None

    async def wait_disconnect(self) -> None:
        """Return once the client goes away (call after the body was read)."""
        while True:
            message = await self._receive()
            if message.get("type") == "http.disconnect":
                self.gone = True
                return

    async def start(self, head: ResponseHead) -> None:
        """Write the status line and headers."""
        self.started = True
        self._trailers = head.trailers and self.supports_trailers
        await self._write(
            {
                "type": "http.response.start",
                "status": head.status,
                "headers": _encode(head.headers),
                "trailers": self._trailers,
            }
        )

    async def write(self, data: bytes) -> None:
        """Write body bytes (flushed at once: one message per write)."""
        if data:
            await self._write({"type": "http.response.body", "body": data, "more_body": True})

    async def finish(self, end: ResponseEnd) -> None:
        """Write the last body bytes and, if announced, the HTTP trailers."""
        if self.finished:
            return
        self.finished = True
        await self._write({"type": "http.response.body", "body": end.body, "more_body": False})
        if self._trailers:
            await self._write(
                {"type": "http.response.trailers", "headers": _encode(end.trailers), "more_trailers": False}
            )

    async def respond(self, head: ResponseHead, body: bytes = b"") -> None:
        """A whole response in one go (no trailers), with its content length."""
        headers = head.headers
        if not any(name == "content-length" for name, _ in headers):
            headers = [*headers, ("content-length", str(len(body)))]
        await self.start(ResponseHead(head.status, headers))
        await self.finish(ResponseEnd(body))

    async def _write(self, message: Message) -> None:
        if self.gone:
            return
        try:
            await self._send(message)
        except Exception as exc:  # the server refuses writes once the client is gone
            self.gone = True
            log.debug("response write dropped: %r", exc)
