"""Exchanges over httpx on HTTP/1.1 (HTTP/2 goes over `rpcctl.transport.h2_connection`).

httpx sends the whole request body before it reads the response, so a streamed body here is
half-duplex. Bodies are read raw (`aiter_raw`): httpx never decompresses, the protocol layer
does, with its size caps.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

from rpcctl.errors import RpcError, TransportError
from rpcctl.transport.target import DEFAULT_CONNECT_TIMEOUT
from rpcctl.transport.tls import ssl_context, tls_failure, uses_tls
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.protocols.exchange import RequestHead
    from rpcctl.transport.target import ChannelSettings

_END = object()


def base_url(settings: ChannelSettings) -> str:
    """scheme://host:port/prefix (``localhost`` for unix sockets)."""
    target = settings.target
    scheme = "https" if uses_tls(settings) else "http"
    host = "localhost" if target.unix_path is not None else target.address
    return f"{scheme}://{host}{target.prefix}"


def describe_failure(settings: ChannelSettings, exc: BaseException) -> str:
    """A one-line reason for a failed connection, naming the address."""
    address = settings.target.address
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return tls_failure(address, cause)
        if isinstance(cause, OSError) and cause.strerror:
            return f"cannot connect to {address}: {cause.strerror}"
        cause = cause.__cause__ or cause.__context__
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | TimeoutError):
        text = "timed out"
    if "Name or service not known" in text or "nodename nor servname" in text:
        text = f"cannot resolve host ({text})"
    return f"cannot connect to {address}: {text}"


def broken(settings: ChannelSettings, exc: BaseException) -> RpcError:
    """The error for a connection that broke after the request was sent."""
    reason = str(exc) or type(exc).__name__
    return RpcError(Code.UNAVAILABLE, f"connection to {settings.target.address} broke: {reason}")


class HttpxTransport:
    """One httpx client for a target, HTTP/1.1 only."""

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings
        verify: ssl.SSLContext | bool = False
        if uses_tls(settings):
            verify = ssl_context(settings, ["http/1.1"])
        transport = httpx.AsyncHTTPTransport(
            verify=verify,
            http1=True,
            http2=False,
            uds=settings.target.unix_path,
            retries=0,
        )
        connect = settings.connect_timeout or DEFAULT_CONNECT_TIMEOUT
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(None, connect=connect),
            follow_redirects=False,
            trust_env=False,
        )
        self._base = base_url(settings)

    async def open(self, head: RequestHead, body: bytes | None) -> HttpxExchange:
        """Start a request in the background; the head goes out with the first body bytes."""
        headers = list(head.headers)
        if self.settings.authority:
            headers.insert(0, ("host", self.settings.authority))
        extensions: dict[str, Any] = {}
        if self.settings.tls.servername:
            extensions["sni_hostname"] = self.settings.tls.servername
        exchange = HttpxExchange(self.settings)
        content: bytes | AsyncIterator[bytes] | None = body
        if body is None and head.method == "POST":
            content = exchange.body()
        request = self._client.build_request(
            head.method,
            self._base + head.path,
            headers=headers,
            content=content,
            extensions=extensions,
        )
        if content is None:
            # A GET has no body: httpx must not add a content-length either.
            request.headers.pop("content-length", None)
        exchange.start(self._client, request)
        return exchange

    async def aclose(self) -> None:
        """Close the pool."""
        await self._client.aclose()


class HttpxExchange:
    """An httpx request in flight; the body streams from a queue."""

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings
        self.http_version = "HTTP/1.1"
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task: asyncio.Task[httpx.Response] | None = None
        self._response: httpx.Response | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._ended = False

    async def body(self) -> AsyncIterator[bytes]:
        """The request body: whatever `write` queues, until `end`."""
        while (item := await self._queue.get()) is not _END:
            yield item

    def start(self, client: httpx.AsyncClient, request: httpx.Request) -> None:
        """Send the request in a background task."""
        self._task = asyncio.ensure_future(client.send(request, stream=True))

    async def write(self, data: bytes) -> None:
        """Queue body bytes (dropped once the response arrived or the request failed)."""
        if not self._ended and self._task is not None and not self._task.done():
            self._queue.put_nowait(data)

    async def end(self) -> None:
        """End the body."""
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(_END)

    async def response(self) -> tuple[int, Metadata]:
        """Wait for the response head; connection failures become `TransportError`."""
        if self._response is None:
            if self._task is None:
                raise RuntimeError("exchange not started")
            try:
                self._response = await asyncio.shield(self._task)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise TransportError(describe_failure(self.settings, exc)) from exc
            except httpx.HTTPError as exc:
                raise broken(self.settings, exc) from exc
            self.http_version = self._response.http_version
            self._chunks = self._response.aiter_raw()
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._response.headers.raw]
        return self._response.status_code, Metadata.from_wire_pairs(pairs)

    async def read(self) -> bytes | None:
        """The next raw body chunk, None at the end."""
        if self._chunks is None:
            await self.response()
        if self._chunks is None:
            return None
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None
        except httpx.HTTPError as exc:
            raise broken(self.settings, exc) from exc

    async def aclose(self) -> None:
        """Close the response, or abandon the request still in flight."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        elif self._task is not None and self._response is None and not self._task.cancelled():
            self._task.exception()  # retrieved: the caller saw it, or does not care
            result = None if self._task.exception() else self._task.result()
            if result is not None:
                await result.aclose()
        if self._response is not None:
            await self._response.aclose()
