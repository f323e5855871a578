"""One RPC served over HTTP: the `ServerCall` a handler sees, and the life of the call.

`HttpServerCall.run` validates the request headers (timeout, encodings), starts a task that
reads the body into request messages, runs the handler in a task of its own, and ends the
call with the first of: the handler's return or exception, the deadline
(DEADLINE_EXCEEDED), a malformed request body (its ProtocolError), or the client going away
(the handler is cancelled and nothing more is written). The protocol strategy
(`GrpcServer`, `GrpcWebServer`, `ConnectStreamServer`, `ConnectUnaryServer`) decides
what goes on the wire; this module only sequences it.

For unary and server-streaming methods the request is read in full before the handler runs:
zero or several messages end the call UNIMPLEMENTED (gRPC's statuscodes.md, "Request cardinality
violation"; the Connect conformance suite expects the same). For unary and client-streaming
methods a handler must send exactly one response.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol, cast

from rpcctl.errors import RpcError
from rpcctl.protocols.base_server import ResponseEnd, ResponseHead
from rpcctl.server.asgi_io import AsgiIO, Disconnected
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.schema.registry import CallKind
    from rpcctl.server.call import Handle
    from rpcctl.server.observer import CallObserver
    from rpcctl.transport.target import RpcProtocol

log = logging.getLogger("rpcctl.server")

REQUEST_QUEUE_SIZE = 16
GENERIC_HANDLER_ERROR = "internal error in the method handler"
_EOF = object()


class RequestDecoder(Protocol):
    """Request body bytes in, request messages out."""

    def feed(self, data: bytes) -> list[bytes]:
        """The messages ``data`` completes."""

    def finish(self) -> list[bytes]:
        """The last messages; raise if the body was cut short."""


class StreamingHalf(Protocol):
    """A server half whose response is written as it goes (gRPC, gRPC-Web, Connect streams)."""

    codec: str

    def timeout(self) -> float | None:
        """The request's timeout."""

    def request_decoder(self) -> RequestDecoder:
        """A decoder for the body."""

    def response_head(self, headers: Metadata) -> ResponseHead:
        """The response head."""

    def encode_message(self, data: bytes) -> bytes:
        """One message as body bytes."""

    def end(self, error: RpcError | None, trailers: Metadata) -> ResponseEnd:
        """The end of the response."""


class UnaryHalf(Protocol):
    """A server half whose whole response is written at the end (Connect unary)."""

    codec: str

    def timeout(self) -> float | None:
        """The request's timeout."""

    def request_decoder(self) -> RequestDecoder:
        """A decoder for the body."""

    def response(self, message: bytes, headers: Metadata, trailers: Metadata) -> tuple[ResponseHead, bytes]:
        """A success response."""

    def error(self, error: RpcError, headers: Metadata, trailers: Metadata) -> tuple[ResponseHead, bytes]:
        """An error response."""


class HttpServerCall:
    """A call served over HTTP; implements `rpcctl.server.call.ServerCall`."""

    def __init__(
        self,
        *,
        io: AsgiIO,
        half: StreamingHalf | UnaryHalf,
        buffered: bool,
        method_path: str,
        protocol: RpcProtocol,
        request_headers: Metadata,
        peer: str,
        call_id: str,
        kind: CallKind | None,
        observer: CallObserver,
    ) -> None:
        self.method_path = method_path
        self.protocol = protocol
        self.codec = half.codec
        self.request_headers = request_headers
        self.response_headers = Metadata()
        self.response_trailers = Metadata()
        self.deadline: float | None = None
        self.peer = peer
        self.call_id = call_id
        self.kind = kind
        self.http_version = io.http_version
        self._io = io
        self._half = half
        self._buffered = buffered
        self._observer = observer
        self._queue: asyncio.Queue[object] = asyncio.Queue(REQUEST_QUEUE_SIZE)
        self._pending: list[bytes] = []
        self._preread = False
        self._sent = 0
        self._unary_response: bytes | None = None
        self._send_lock = asyncio.Lock()
        self._abort: asyncio.Future[RpcError] | None = None
        self._decoder: RequestDecoder | None = None

    # --- the ServerCall API -------------------------------------------------------------

    async def receive(self) -> bytes | None:
        """The next request message, or None once the client half-closed."""
        if self._pending:
            return self._pending.pop(0)
        if self._preread:
            return None
        return await self._next()

    async def send(self, message: bytes) -> None:
        """Send one response message; the first one writes the response headers."""
        async with self._send_lock:
            if self.kind is not None and not self.kind.server_streams and self._sent:
                raise RpcError(Code.INTERNAL, f"{self.method_path} sends exactly one response")
            self._sent += 1
            self._observer.response(message)
            if self._buffered:
                self._unary_response = message
                return
            half = self._streaming_half()
            if not self._io.started:
                await self._io.start(half.response_head(self.response_headers))
            await self._io.write(half.encode_message(message))

    # --- the life of the call ------------------------------------------------------------

    async def run(self, handle: Handle) -> None:
        """Serve the call with ``handle`` and write the response; never raises RpcError."""
        self._observer.start(self.protocol.value, self.request_headers, self.peer)
        try:
            timeout = self._half.timeout()
            if timeout is not None:
                self.deadline = time.monotonic() + timeout
            self._decoder = self._half.request_decoder()
        except RpcError as exc:
            await self._finish(exc)
            return
        pump = asyncio.create_task(self._pump())
        try:
            error = await self._supervise(handle)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        if self._io.gone:
            self._observer.end(error or RpcError(Code.CANCELLED, "client went away"), self.response_trailers)
            return
        await self._finish(error)

    async def _supervise(self, handle: Handle) -> RpcError | None:
        loop = asyncio.get_running_loop()
        self._abort = loop.create_future()
        task = asyncio.create_task(self._invoke(handle))
        timeout = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        try:
            waiters: set[asyncio.Future[Any]] = {task, self._abort}
            done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        if self._abort.done():
            return self._abort.result()
        if not done:
            return RpcError(Code.DEADLINE_EXCEEDED, "deadline exceeded")
        if task.cancelled():
            return RpcError(Code.CANCELLED, "the handler was cancelled")
        exc = task.exception()
        if exc is None:
            return None
        if isinstance(exc, RpcError):
            return exc
        log.error("handler for %s failed", self.method_path, exc_info=exc)
        return RpcError(Code.UNKNOWN, GENERIC_HANDLER_ERROR)

    async def _invoke(self, handle: Handle) -> None:
        if self.kind is not None and not self.kind.client_streams:
            first = await self._next()
            if first is None:
                raise RpcError(Code.UNIMPLEMENTED, f"{self.method_path} needs one request message: got none")
            if await self._next() is not None:
                raise RpcError(
                    Code.UNIMPLEMENTED, f"{self.method_path} needs one request message: got several"
                )
            self._pending.append(first)
            self._preread = True
        await handle(self)
        if self.kind is not None and not self.kind.server_streams and not self._sent:
            raise RpcError(Code.UNIMPLEMENTED, f"{self.method_path} ended without a response message")

    async def _next(self) -> bytes | None:
        item = await self._queue.get()
        if item is _EOF:
            self._queue.put_nowait(_EOF)  # every later receive() sees the end too
            return None
        return cast(bytes, item)

    async def _pump(self) -> None:
        decoder = self._decoder
        if decoder is None:
            return
        try:
            while (chunk := await self._io.read_chunk()) is not None:
                for message in decoder.feed(chunk):
                    await self._deliver(message)
            for message in decoder.finish():
                await self._deliver(message)
            await self._queue.put(_EOF)
            await self._io.wait_disconnect()
            self._set_abort(RpcError(Code.CANCELLED, "client went away"))
        except Disconnected:
            self._set_abort(RpcError(Code.CANCELLED, "client went away"))
        except RpcError as exc:
            self._set_abort(exc)

    async def _deliver(self, message: bytes) -> None:
        self._observer.request(message)
        await self._queue.put(message)

    def _set_abort(self, error: RpcError) -> None:
        if self._abort is not None and not self._abort.done():
            self._abort.set_result(error)

    def _streaming_half(self) -> StreamingHalf:
        return cast(StreamingHalf, self._half)

    async def _finish(self, error: RpcError | None) -> None:
        headers, trailers = self.response_headers, self.response_trailers
        if self._buffered:
            await self._finish_unary(error, headers, trailers)
            return
        half = self._streaming_half()
        if not self._io.started:
            try:
                head = half.response_head(headers)
            except RpcError as exc:
                error = error or exc
                head = half.response_head(Metadata())
            await self._io.start(head)
        try:
            end = half.end(error, trailers)
        except RpcError as exc:
            error = _bare(error or exc)
            trailers = Metadata()
            end = half.end(error, trailers)
        self._observer.end(error, trailers)
        await self._io.finish(end)

    async def _finish_unary(self, error: RpcError | None, headers: Metadata, trailers: Metadata) -> None:
        half = cast(UnaryHalf, self._half)
        try:
            if error is None:
                message = self._unary_response if self._unary_response is not None else b""
                head, body = half.response(message, headers, trailers)
            else:
                head, body = half.error(error, headers, trailers)
        except RpcError as exc:
            error, headers, trailers = _bare(error or exc), Metadata(), Metadata()
            head, body = half.error(error, headers, trailers)
        self._observer.end(error, trailers)
        await self._io.respond(head, body)


def _bare(error: RpcError) -> RpcError:
    """The error without its metadata (which could not be written)."""
    return RpcError(error.code, error.message, error.details)
