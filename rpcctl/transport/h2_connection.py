"""A full-duplex HTTP/2 client connection on `h2` over asyncio streams.

httpx (httpcore) sends a request body to its end before it reads the response, so a bidi
stream over it cannot show the first response before the second request is sent. Here a
reader task dispatches frames to streams while senders write DATA under flow control: each
`H2Stream` reads and writes independently. h2c uses prior knowledge; TLS negotiates ``h2``
by ALPN (`NotHttp2` when the server picks something else, so the caller can fall back).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import TYPE_CHECKING

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from rpcctl.errors import RpcError, TransportError
from rpcctl.transport.h2_codes import reset_error
from rpcctl.transport.target import DEFAULT_CONNECT_TIMEOUT
from rpcctl.transport.tls import ssl_context, tls_failure, uses_tls
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.protocols.exchange import RequestHead
    from rpcctl.transport.target import ChannelSettings

READ_SIZE = 65536
# Receive windows: large enough that a fast server is not throttled by our acknowledgements.
CONNECTION_WINDOW = 16 * 1024 * 1024
STREAM_WINDOW = 4 * 1024 * 1024
ALPN_H2 = "h2"


class NotHttp2(Exception):
    """The server does not speak HTTP/2 (ALPN chose another protocol, or h2c was refused)."""


class H2Connection:
    """One HTTP/2 connection; `open` starts streams on it."""

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings
        self._conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._streams: dict[int, H2Stream] = {}
        self._window = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._error: RpcError | None = None
        self._settled = asyncio.Event()
        self.closed = False

    @property
    def usable(self) -> bool:
        """Whether new streams can still be opened."""
        return not self.closed and self._error is None

    async def connect(self) -> None:
        """Open the socket, exchange prefaces; `TransportError` or `NotHttp2` on failure."""
        target = self.settings.target
        timeout = self.settings.connect_timeout or DEFAULT_CONNECT_TIMEOUT
        tls = uses_tls(self.settings)
        context = ssl_context(self.settings, [ALPN_H2, "http/1.1"]) if tls else None
        try:
            async with asyncio.timeout(timeout):
                if target.unix_path is not None:
                    self._reader, self._writer = await asyncio.open_unix_connection(
                        target.unix_path,
                        ssl=context,
                        server_hostname=self.settings.tls.servername or (target.host if tls else None),
                    )
                else:
                    self._reader, self._writer = await asyncio.open_connection(
                        target.host,
                        target.port,
                        ssl=context,
                        server_hostname=(self.settings.tls.servername or target.host) if tls else None,
                    )
                if context is not None:
                    ssl_object = self._writer.get_extra_info("ssl_object")
                    chosen = ssl_object.selected_alpn_protocol() if ssl_object else None
                    if chosen != ALPN_H2:
                        await self.aclose()
                        raise NotHttp2(f"ALPN chose {chosen or 'no protocol'}")
                sock = self._writer.get_extra_info("socket")
                if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._conn.initiate_connection()
                self._conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW})
                self._conn.increment_flow_control_window(CONNECTION_WINDOW)
                await self._flush()
                self._task = asyncio.ensure_future(self._read_loop())
                await self._settled.wait()
        except ssl.SSLError as exc:
            await self.aclose()
            raise TransportError(tls_failure(target.address, exc)) from exc
        except TimeoutError as exc:
            await self.aclose()
            raise TransportError(
                f"cannot connect to {target.address}: no connection after {timeout:g}s"
            ) from exc
        except OSError as exc:
            await self.aclose()
            reason = exc.strerror or str(exc)
            if isinstance(exc, socket.gaierror):
                reason = f"cannot resolve host ({reason})"
            raise TransportError(f"cannot connect to {target.address}: {reason}") from exc
        if self._error is not None:
            await self.aclose()
            raise NotHttp2(self._error.message)

    async def open(self, head: RequestHead, body: bytes | None, authority: str) -> H2Stream:
        """Send the request headers (and ``body``, ending the stream, if given)."""
        if not self.usable:
            raise self._error or RpcError(Code.UNAVAILABLE, "HTTP/2 connection is closed")
        scheme = "https" if uses_tls(self.settings) else "http"
        headers = [
            (b":method", head.method.encode()),
            (b":scheme", scheme.encode()),
            (b":authority", authority.encode()),
            (b":path", head.path.encode()),
        ]
        headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in head.headers]
        await self._wait_for_slot()
        async with self._write_lock:
            stream_id = self._conn.get_next_available_stream_id()
            stream = H2Stream(self, stream_id)
            self._streams[stream_id] = stream
            self._conn.send_headers(stream_id, headers, end_stream=body == b"")
            await self._flush_locked()
        if body:
            await self.send_data(stream_id, body, end_stream=True)
        return stream

    async def _wait_for_slot(self) -> None:
        """Wait until the peer's SETTINGS_MAX_CONCURRENT_STREAMS allows one more stream."""
        while self._conn.open_outbound_streams >= self._conn.remote_settings.max_concurrent_streams:
            if self._error is not None:
                raise self._error
            self._slot_freed.clear()
            await self._slot_freed.wait()

    async def send_data(self, stream_id: int, data: bytes, *, end_stream: bool) -> None:
        """Send DATA under flow control; silently drop it if the stream is already closed."""
        view = memoryview(data)
        try:
            while view:
                if self._error is not None:
                    raise self._error
                async with self._write_lock:
                    window = self._conn.local_flow_control_window(stream_id)
                    size = min(window, self._conn.max_outbound_frame_size, len(view))
                    if size > 0:
                        self._conn.send_data(stream_id, view[:size].tobytes())
                        view = view[size:]
                        await self._flush_locked()
                        continue
                    self._window.clear()
                await self._window.wait()
            if end_stream:
                async with self._write_lock:
                    self._conn.end_stream(stream_id)
                    await self._flush_locked()
                self._slot_freed.set()
        except (h2.exceptions.StreamClosedError, KeyError):
            return
        except h2.exceptions.ProtocolError as exc:
            if "closed" in str(exc).lower():
                return
            raise RpcError(Code.INTERNAL, f"HTTP/2 error while sending: {exc}") from exc

    async def reset(self, stream_id: int) -> None:
        """Cancel a stream (RST_STREAM CANCEL) unless it is already closed."""
        self._streams.pop(stream_id, None)
        self._slot_freed.set()
        if not self.usable:
            return
        async with self._write_lock:
            with contextlib.suppress(h2.exceptions.H2Error, KeyError):
                self._conn.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
            with contextlib.suppress(OSError, RpcError):
                await self._flush_locked()

    async def acknowledge(self, stream_id: int, size: int) -> None:
        """Return flow-control credit for ``size`` bytes the consumer took."""
        if not size or not self.usable:
            return
        async with self._write_lock:
            with contextlib.suppress(h2.exceptions.H2Error, KeyError):
                self._conn.acknowledge_received_data(size, stream_id)
            with contextlib.suppress(OSError, RpcError):
                await self._flush_locked()

    async def _flush(self) -> None:
        async with self._write_lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        data = self._conn.data_to_send()
        if data and self._writer is not None:
            try:
                self._writer.write(data)
                await self._writer.drain()
            except OSError as exc:
                address = self.settings.target.address
                self._fail(RpcError(Code.UNAVAILABLE, f"connection to {address} broke: {exc}"))
                raise RpcError(Code.UNAVAILABLE, f"connection to {address} broke: {exc}") from exc

    async def _read_loop(self) -> None:
        address = self.settings.target.address
        assert self._reader is not None
        try:
            while True:
                data = await self._reader.read(READ_SIZE)
                if not data:
                    self._fail(RpcError(Code.UNAVAILABLE, f"{address} closed the HTTP/2 connection"))
                    return
                try:
                    events = self._conn.receive_data(data)
                except h2.exceptions.ProtocolError as exc:
                    self._fail(RpcError(Code.INTERNAL, f"HTTP/2 protocol error from {address}: {exc}"))
                    return
                for event in events:
                    self._dispatch(event)
                await self._flush()
        except OSError as exc:
            self._fail(RpcError(Code.UNAVAILABLE, f"connection to {address} broke: {exc}"))
        except RpcError:
            return

    def _dispatch(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RemoteSettingsChanged):
            self._settled.set()
            self._window.set()
            return
        if isinstance(event, h2.events.WindowUpdated):
            self._window.set()
            return
        if isinstance(event, h2.events.ConnectionTerminated):
            self.closed = True
            if event.error_code != h2.errors.ErrorCodes.NO_ERROR:
                reason = f"server ended the connection: GOAWAY {event.error_code!s}"
                self._fail(RpcError(Code.UNAVAILABLE, reason))
            else:
                last = event.last_stream_id or 0
                for sid, stream in list(self._streams.items()):
                    if sid > last:
                        stream.fail(RpcError(Code.UNAVAILABLE, "server is going away (GOAWAY)"))
            return
        stream_id = getattr(event, "stream_id", None)
        found = self._streams.get(stream_id) if stream_id is not None else None
        if found is None:
            return
        stream = found
        if isinstance(event, h2.events.ResponseReceived):
            stream.on_headers(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            stream.on_data(event.data, event.flow_controlled_length)
        elif isinstance(event, h2.events.TrailersReceived):
            stream.trailers = Metadata.from_header_bytes(event.headers)
        elif isinstance(event, h2.events.StreamEnded):
            stream.on_end()
            self._streams.pop(stream.stream_id, None)
            self._slot_freed.set()
        elif isinstance(event, h2.events.StreamReset):
            stream.fail(reset_error(event.error_code))
            self._streams.pop(stream.stream_id, None)
            self._slot_freed.set()

    def _fail(self, error: RpcError) -> None:
        if self._error is None:
            self._error = error
        self._settled.set()
        self._window.set()
        self._slot_freed.set()
        for stream in list(self._streams.values()):
            stream.fail(error)
        self._streams.clear()

    async def aclose(self) -> None:
        """Close the connection and every stream on it."""
        self.closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._writer is not None:
            with contextlib.suppress(h2.exceptions.H2Error, OSError):
                self._conn.close_connection()
                self._writer.write(self._conn.data_to_send())
            self._writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await self._writer.wait_closed()
            self._writer = None


class H2Stream:
    """One request/response on an `H2Connection`: reads and writes are independent."""

    http_version = "HTTP/2"

    def __init__(self, connection: H2Connection, stream_id: int) -> None:
        self._connection = connection
        self.stream_id = stream_id
        self._head: asyncio.Future[tuple[int, Metadata]] = asyncio.get_running_loop().create_future()
        self._chunks: asyncio.Queue[tuple[bytes, int] | RpcError | None] = asyncio.Queue()
        self.trailers = Metadata()
        self._finished = False
        self._request_ended = False

    def on_headers(self, headers: list[tuple[bytes, bytes]]) -> None:
        """The response head arrived."""
        status = 0
        for key, value in headers:
            if key == b":status":
                status = int(value)
        if not self._head.done():
            self._head.set_result((status, Metadata.from_header_bytes(headers)))

    def on_data(self, data: bytes, flow_length: int) -> None:
        """A DATA frame arrived."""
        self._chunks.put_nowait((data, flow_length))

    def on_end(self) -> None:
        """END_STREAM arrived."""
        self._chunks.put_nowait(None)

    def fail(self, error: RpcError) -> None:
        """The stream or connection broke."""
        if not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # mark retrieved: `response` re-raises it
        self._chunks.put_nowait(error)

    async def write(self, data: bytes) -> None:
        """Send body bytes now (full duplex)."""
        if not self._finished and not self._request_ended:
            await self._connection.send_data(self.stream_id, data, end_stream=False)

    async def end(self) -> None:
        """END_STREAM on the request side."""
        if not self._request_ended and not self._finished:
            self._request_ended = True
            await self._connection.send_data(self.stream_id, b"", end_stream=True)

    async def response(self) -> tuple[int, Metadata]:
        """The response status and headers."""
        return await asyncio.shield(self._head)

    async def read(self) -> bytes | None:
        """The next DATA payload, None after END_STREAM."""
        if self._finished:
            return None
        item = await self._chunks.get()
        if item is None:
            self._finished = True
            return None
        if isinstance(item, RpcError):
            self._finished = True
            raise item
        data, flow_length = item
        await self._connection.acknowledge(self.stream_id, flow_length)
        return data

    async def aclose(self) -> None:
        """Reset the stream unless it finished."""
        if not self._finished:
            self.fail(RpcError(Code.CANCELLED, "stream closed by the client"))
            self._finished = True
            await self._connection.reset(self.stream_id)
