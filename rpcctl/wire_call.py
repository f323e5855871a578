"""`WireCall`: the `Call` of every protocol, over a sans-IO client protocol and an `Exchange`.

Calls with one request message (unary, server streaming) send the request when the request
stream is half-closed, with a fixed body; calls with a request stream (client, bidi) open the
exchange at once and stream the body (a bidi stream over HTTP/1.1, which cannot be full
duplex, is collected and sent at half-close). The deadline is enforced here, on every wait.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from rpcctl.call import Timings
from rpcctl.errors import ProtocolError, RpcctlError, RpcError, Status, UsageError
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.protocols.exchange import ClientProtocol, RequestHead, ResponseDecoder
    from rpcctl.transport.exchange import Exchange

HTTP_VERSION_NOT_SUPPORTED = 505
# The unary cardinality rule's words (the same through `WireCall` and `PreparedUnary`).
NO_RESPONSE = "the call ended without a response message"
MORE_THAN_ONE = "the server sent more than one response message"
# Request bytes written before the sender lets the connection read what the server sent.
YIELD_EVERY = 16 * 1024
T = TypeVar("T")
Opener = Callable[["RequestHead", "bytes | None"], Awaitable["Exchange"]]
# Given the HTTP status and headers of a failed call, the option that would work, if any.
Hint = Callable[[int, Metadata], "str | None"]


def explain(
    error: RpcctlError,
    http_status: int | None,
    headers: Metadata,
    trailers: Metadata,
    hint: Hint | None,
    *,
    full_duplex: bool = True,
) -> RpcctlError:
    """A call's error as the user sees it: with the option that would work, and the trailers.

    One function for every path that ends a call (`WireCall`, `PreparedUnary`), so that one
    answer reads the same through `rpcctl call` and `rpcctl bench`.
    """
    if not isinstance(error, RpcError):
        return error
    message = error.message
    if not full_duplex and http_status == HTTP_VERSION_NOT_SUPPORTED:
        message = f"{message} (the server wants HTTP/2 for bidi streams: drop --http1)"
    elif hint is not None and http_status is not None:
        better = hint(http_status, headers)
        if better is not None and better not in message:
            message = f"{message} ({better})" if message else better
    metadata = error.metadata if error.metadata or not len(trailers) else trailers.items()
    if message is error.message and metadata is error.metadata:
        return error
    return type(error)(error.code, message, error.details, metadata)


class WireCall:
    """A call in flight over one HTTP exchange, seen through rpcctl's `Call` API."""

    def __init__(
        self,
        protocol: ClientProtocol,
        opener: Opener,
        *,
        streamed_request: bool,
        single_response: bool,
        timeout: float | None,
        full_duplex: bool = True,
        buffered: bool = False,
        hint: Hint | None = None,
    ) -> None:
        self.timings = Timings()
        self.full_duplex = full_duplex
        self.http_status: int | None = None
        self.http_version: str | None = None
        # What went out, for `-v`: the request head as sent (the path as the server saw it).
        self.request_head: RequestHead | None = None
        self._protocol = protocol
        self._opener = opener
        self._hint = hint
        self._response_headers: Metadata | None = None
        self._streamed = streamed_request and not buffered
        # Half-duplex bidi: the request stream is collected and sent whole at half-close.
        self._buffer: list[bytes] | None = [] if buffered else None
        self._single_response = single_response
        self._timeout = timeout
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._decoder: ResponseDecoder = protocol.new_decoder()
        self._exchange: Exchange | None = None
        # Whether the request went out (or failed to); `_await_head` waits on `_started_waiter`
        # only when it runs before that (a bidi reader): unary calls never make one.
        self._started = False
        self._started_waiter: asyncio.Future[None] | None = None
        self._start_error: BaseException | None = None
        self._request: bytes | None = None
        self._closed_send = False
        self._unyielded = 0  # request bytes written since the last look at the connection
        self._headers: Metadata | None = None
        self._messages: deque[bytes] = deque()
        self._received = 0
        self._eof = False
        self._error: RpcctlError | None = None
        self._status: Status | None = None

    async def start_stream(self) -> None:
        """Open the exchange of a streamed request: the headers go out now."""
        await self._bounded(self._open(self._protocol.stream_head(), None))

    @property
    def exchange(self) -> Exchange | None:
        """The HTTP exchange once the request went out (its wire timings, for `-v`)."""
        return self._exchange

    async def _open(self, head: RequestHead, body: bytes | None) -> None:
        self.request_head = head
        try:
            self._exchange = await self._opener(head, body)
        except BaseException as exc:
            self._start_error = exc
            raise
        finally:
            self._mark_started()

    def _mark_started(self) -> None:
        self._started = True
        waiter = self._started_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @property
    def send_closed(self) -> bool:
        """Whether request messages can no longer go (half-closed, or the call or its stream
        ended): a sender stops reading its input then and reads the status, as grpc-go's SendMsg
        does on io.EOF. A one-message or buffered request is never closed before `close_send`."""
        if self._closed_send or self._status is not None:
            return True
        exchange = self._exchange
        return self._streamed and exchange is not None and exchange.send_closed

    async def send(self, message: bytes) -> None:
        """Send one request message (dropped if the call already ended: see `send_closed`)."""
        if self._closed_send:
            raise UsageError("cannot send after the request stream was closed")
        if self._buffer is not None:
            self._buffer.append(self._protocol.encode_message(message))
            return
        if not self._streamed:
            if self._request is not None:
                raise UsageError("this method takes exactly one request message")
            self._request = message
            return
        if self._status is not None or self._exchange is None:
            return
        data = self._protocol.encode_message(message)
        await self._bounded(self._exchange.write(data))
        self._unyielded += len(data)
        if self._unyielded >= YIELD_EVERY:
            # A write that flow control did not hold back returns without suspending: let the
            # connection read what came meanwhile (the server's status, a reset) now and then.
            self._unyielded = 0
            await asyncio.sleep(0)

    async def close_send(self) -> None:
        """Half-close: for a one-message request, this sends it."""
        if self._closed_send:
            return
        self._closed_send = True
        if self._streamed:
            if self._exchange is not None and self._status is None:
                await self._bounded(self._exchange.end())
            return
        if self._buffer is not None:
            body = b"".join(self._buffer)
            self._buffer = []
            await self._bounded(self._open(self._protocol.stream_head(), body))
            return
        if self._request is None:
            self._start_error = UsageError("this method takes exactly one request message")
            self._mark_started()
            raise self._start_error
        head, payload = self._protocol.unary_request(self._request)
        if self._deadline is not None:
            await self._within_deadline(self._open(head, payload))
            return
        # `_open` inlined: one coroutine less on every unary call.
        self.request_head = head
        try:
            self._exchange = await self._opener(head, payload)
        except BaseException as exc:
            self._start_error = exc
            raise
        finally:
            self._mark_started()

    async def response_headers(self) -> Metadata:
        """The response headers (Connect unary: without the ``trailer-`` ones)."""
        if self._headers is None:
            await self._bounded(self._await_head())
        if self._headers is None:
            return Metadata()
        # Once the call ended, the decoder knows best (a Trailers-Only answer has no headers).
        return self._decoder.headers if self._status is not None else self._headers

    async def receive(self) -> bytes | None:
        """The next response message; None at an OK end; `RpcError` at any other end."""
        if not self._messages and self._error is not None:
            raise self._error
        if not self._messages and self._eof:
            return None
        if not self._messages:
            await self._bounded(self._fill())
            if not self._messages:
                return None
        message = self._messages.popleft()
        self._received += 1
        if self._received == 1:
            self.timings.first_message = time.monotonic()
        if self._single_response and self._received > 1:
            await self._finish_with(ProtocolError(Code.UNIMPLEMENTED, MORE_THAN_ONE))
        return message

    @property
    def trailers(self) -> Metadata:
        """The trailing metadata once the call ended."""
        return self._decoder.trailers

    @property
    def status(self) -> Status | None:
        """The final status once the call ended."""
        return self._status

    async def cancel(self) -> None:
        """Abandon the call; later waits raise CANCELLED."""
        if self._status is None:
            self._status = Status(Code.CANCELLED, "cancelled by the client")
            self._error = RpcError(Code.CANCELLED, "cancelled by the client")
            self.timings.ended = time.monotonic()
        self._mark_started()
        await self._release()

    async def _await_head(self) -> None:
        if self._headers is not None:
            return
        if not self._started:
            if self._started_waiter is None:
                self._started_waiter = asyncio.get_running_loop().create_future()
            await self._started_waiter
        if self._start_error is not None:
            raise self._start_error
        if self._error is not None:
            raise self._error
        if self._exchange is None:
            raise RpcError(Code.CANCELLED, "cancelled by the client")
        exchange = self._exchange
        try:
            status, headers = await exchange.response()
            self._take_head(exchange, status, headers)
        except RpcctlError as exc:
            await self._finish_with(exc)

    def _take_head(self, exchange: Exchange, status: int, headers: Metadata) -> None:
        self.http_status = status
        self._response_headers = headers
        self.http_version = exchange.http_version
        self.timings.headers = time.monotonic()
        try:
            self._decoder.start(status, headers)
        finally:
            self._headers = self._decoder.headers

    async def _fill(self) -> None:
        exchange = self._exchange
        if self._headers is None:
            if exchange is not None and self._started and self._start_error is None and self._error is None:
                # `_await_head` once the request is out, inlined: one coroutine less per call.
                try:
                    status, headers = await exchange.response()
                    self._take_head(exchange, status, headers)
                except RpcctlError as exc:
                    await self._finish_with(exc)
            else:
                await self._await_head()
                exchange = self._exchange
        if exchange is None:
            return
        try:
            while not self._messages:
                chunk = await exchange.read()
                if chunk is None:
                    self._decoder.take_trailers(exchange.trailers)
                    self._messages.extend(self._decoder.finish())
                    self._eof = True
                    break
                self._messages.extend(self._decoder.feed(chunk))
        except RpcctlError as exc:
            await self._finish_with(exc)
        if self._eof:
            if self._single_response and self._received + len(self._messages) == 0:
                await self._finish_with(ProtocolError(Code.UNIMPLEMENTED, NO_RESPONSE))
            self._status = self._decoder.status or Status(Code.OK)
            self.timings.ended = time.monotonic()
            await self._release()

    async def _finish_with(self, error: RpcctlError) -> None:
        error = explain(
            error,
            self.http_status,
            Metadata() if self._response_headers is None else self._response_headers,
            self._decoder.trailers,
            self._hint,
            full_duplex=self.full_duplex,
        )
        if self._error is None:
            self._error = error
            self._status = (
                error.status if isinstance(error, RpcError) else Status(Code.UNAVAILABLE, str(error))
            )
            self.timings.ended = time.monotonic()
        await self._release()
        raise self._error

    async def _release(self) -> None:
        exchange = self._exchange
        if exchange is not None:
            # Not `contextlib.suppress`: a context manager object on every call's end.
            try:  # noqa: SIM105
                await exchange.aclose()
            except (RpcctlError, OSError):
                pass

    def _bounded(self, awaitable: Awaitable[T]) -> Awaitable[T]:
        """``awaitable`` within the call's deadline (as is when there is none: no extra frame)."""
        if self._deadline is None:
            return awaitable
        return self._within_deadline(awaitable)

    async def _within_deadline(self, awaitable: Awaitable[T]) -> T:
        """Await within the call's deadline; past it, abort with DEADLINE_EXCEEDED."""
        assert self._deadline is not None
        try:
            async with asyncio.timeout_at(
                asyncio.get_running_loop().time() + (self._deadline - time.monotonic())
            ):
                return await awaitable
        except TimeoutError:
            error = RpcError(Code.DEADLINE_EXCEEDED, f"deadline of {self._timeout:g}s exceeded")
            if self._status is None:
                self._status = error.status
                self._error = error
                self.timings.ended = time.monotonic()
            await self._release()
            raise (self._error or error) from None
