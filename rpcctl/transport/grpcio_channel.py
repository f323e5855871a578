"""Native gRPC over grpcio: generic calls on raw bytes, one stream API for all call kinds."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from rpcctl.client import CallOptions, MethodInfo, Timings
from rpcctl.errors import RpcError, Status, TransportError, UsageError
from rpcctl.schema.reflection import REFLECTION_PATHS
from rpcctl.transport.endpoint import socket_reason
from rpcctl.transport.target import DEFAULT_CONNECT_TIMEOUT
from rpcctl.wire.grpc_status import decode_status_details
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.transport.target import ChannelSettings

DETAILS_KEY = "grpc-status-details-bin"
# grpcio reports a write that races with the server's final status as this INTERNAL
# error and loses the real status. Before any message went out the call is safe to redo.
CORE_WRITE_RACE = "Internal error from Core"
RACE_RETRIES = 3


class GrpcioChannel:
    """A grpcio channel to one target; `open` starts a raw-bytes stream call."""

    codec = "proto"

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings
        self._channel = make_grpc_channel(settings)
        self._ready = False

    async def _ensure_connected(self) -> None:
        if self._ready:
            return
        timeout = self.settings.connect_timeout or DEFAULT_CONNECT_TIMEOUT
        try:
            await asyncio.wait_for(self._wait_ready(), timeout)
        except TimeoutError:
            raise TransportError(
                f"cannot connect to {self.settings.target}: no connection after {timeout:g}s"
            ) from None
        self._ready = True

    async def _wait_ready(self) -> None:
        state = self._channel.get_state(try_to_connect=True)
        while state is not grpc.ChannelConnectivity.READY:
            if state is grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                raise TransportError(await _diagnose(self.settings))
            await self._channel.wait_for_state_change(state)
            state = self._channel.get_state(try_to_connect=True)

    async def open(self, method: MethodInfo, options: CallOptions) -> GrpcioCall:
        """Start a call of any kind (grpcio's stream-stream API carries them all)."""
        await self._ensure_connected()
        compression = grpc.Compression.Gzip if options.compression == "gzip" else None
        metadata = _to_grpc_metadata(options.metadata)
        per_request = method.path in REFLECTION_PATHS
        if not method.kind.client_streams or per_request:
            # One request: grpcio sends it and the half-close together, so a server that
            # answers (or refuses) before the client's END_STREAM never races it. Reflection
            # runs one request per call for the same reason.
            single = self._channel.unary_stream(method.path)

            def start_single(request: bytes) -> Any:
                return single(request, metadata=metadata, timeout=options.timeout, compression=compression)

            return GrpcioCall(single=start_single, per_request=per_request)
        multicallable = self._channel.stream_stream(method.path)

        def start() -> Any:
            return multicallable(metadata=metadata, timeout=options.timeout, compression=compression)

        return GrpcioCall(start)

    async def aclose(self) -> None:
        """Close the channel and its connections."""
        await self._channel.close()


class GrpcioCall:
    """A grpcio call seen through rpcctl's `Call` API."""

    def __init__(
        self,
        start: Callable[[], Any] | None = None,
        *,
        single: Callable[[bytes], Any] | None = None,
        per_request: bool = False,
    ) -> None:
        self._start = start
        self._single = single
        self._per_request = per_request
        self._closed_send = False
        self._request: bytes | None = None
        self._call: Any = start() if start is not None else None
        self._started = asyncio.Event()
        if self._call is not None:
            self._started.set()
        self._sent = False
        self.timings = Timings()
        self._trailers = Metadata()
        self._status: Status | None = None

    async def _started_call(self) -> Any:
        """The grpcio call; a one-request call exists once the request is complete."""
        await self._started.wait()
        return self._call

    async def send(self, message: bytes) -> None:
        """Write one request message."""
        if self._single is not None and self._per_request:
            self._call = self._single(message)
            self._started.set()
            return
        if self._single is not None:
            if self._request is not None:
                raise UsageError("this method takes one request message")
            self._request = message
            return
        assert self._start is not None
        for attempt in range(RACE_RETRIES + 1):
            try:
                await self._call.write(message)
            except grpc.aio.AioRpcError as exc:
                if _lost_race(exc) and not self._sent and attempt < RACE_RETRIES:
                    self._call = self._start()
                    continue
                raise self._finish_with(exc) from exc
            except asyncio.InvalidStateError:
                # The call already ended; the real status comes from receive().
                pass
            self._sent = True
            return

    async def close_send(self) -> None:
        """Half-close the request stream."""
        from grpc._cython import cygrpc

        self._closed_send = True
        if self._single is not None and self._per_request:
            return
        if self._single is not None:
            if self._call is None:
                self._call = self._single(self._request if self._request is not None else b"")
                self._started.set()
            return
        try:
            await self._call.done_writing()
        except grpc.aio.AioRpcError as exc:
            raise self._finish_with(exc) from exc
        except (asyncio.InvalidStateError, cygrpc.InternalError):
            # The call already ended (the race above); receive() reports its status.
            pass

    async def receive(self) -> bytes | None:
        """The next response, None at an OK end, `RpcError` at any other end."""
        if self._per_request:
            return await self._reply()
        await self._started_call()
        try:
            message = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            raise self._finish_with(exc) from exc
        if message is grpc.aio.EOF:
            code = await self._call.code()
            if code is not grpc.StatusCode.OK:
                raise self._finish_with_status(code, await self._call.details())
            self._trailers = _from_grpc_metadata(await self._call.trailing_metadata())
            self._status = Status(Code.OK)
            self.timings.ended = asyncio.get_running_loop().time()
            return None
        if self.timings.first_message is None:
            self.timings.first_message = asyncio.get_running_loop().time()
        return bytes(message)

    async def _reply(self) -> bytes | None:
        """The one answer to the last request of a per-request call; None once half-closed."""
        if self._closed_send:
            self._status = Status(Code.OK)
            return None
        await self._started_call()
        try:
            message = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            raise self._finish_with(exc) from exc
        if message is grpc.aio.EOF:
            code = await self._call.code()
            if code is not grpc.StatusCode.OK:
                raise self._finish_with_status(code, await self._call.details())
            raise RpcError(Code.INTERNAL, "the server ended the call without answering the request")
        return bytes(message)

    async def response_headers(self) -> Metadata:
        """The response headers (initial metadata)."""
        await self._started_call()
        try:
            headers = await self._call.initial_metadata()
        except grpc.aio.AioRpcError as exc:
            raise self._finish_with(exc) from exc
        if self.timings.headers is None:
            self.timings.headers = asyncio.get_running_loop().time()
        return _from_grpc_metadata(headers)

    @property
    def trailers(self) -> Metadata:
        """The trailing metadata once the call ended."""
        return self._trailers

    @property
    def status(self) -> Status | None:
        """The final status once the call ended."""
        return self._status

    async def cancel(self) -> None:
        """Cancel the call."""
        if self._call is None:  # a one-request call not started yet: it never will be
            self._call = _NeverStarted()
            self._started.set()
            return
        self._call.cancel()

    def _finish_with(self, exc: grpc.aio.AioRpcError) -> RpcError:
        trailers = _from_grpc_metadata(exc.trailing_metadata())
        return self._build_error(exc.code(), exc.details() or "", trailers)

    def _finish_with_status(self, code: grpc.StatusCode, details: str | None) -> RpcError:
        return self._build_error(code, details or "", Metadata())

    def _build_error(self, code: grpc.StatusCode, message: str, trailers: Metadata) -> RpcError:
        self.timings.ended = asyncio.get_running_loop().time()
        self._trailers = trailers
        rpc_code = Code.from_number(code.value[0])
        details: tuple[Any, ...] = ()
        raw = trailers.get(DETAILS_KEY)
        if raw is not None:
            try:
                details = tuple(decode_status_details(raw).details)
            except RpcError:
                message = f"{message} (unreadable grpc-status-details-bin)"
        self._status = Status(rpc_code, message, details)
        return RpcError(rpc_code, message, details, tuple(trailers.items()))


class _NeverStarted:
    """Stands for a one-request call cancelled before it started: it ends CANCELLED."""

    def cancel(self) -> bool:
        return False

    async def read(self) -> Any:
        raise grpc.aio.AioRpcError(
            grpc.StatusCode.CANCELLED, grpc.aio.Metadata(), grpc.aio.Metadata(), "cancelled before it started"
        )

    async def initial_metadata(self) -> Any:
        return grpc.aio.Metadata()


def _lost_race(exc: grpc.aio.AioRpcError) -> bool:
    return exc.code() is grpc.StatusCode.INTERNAL and exc.details() == CORE_WRITE_RACE


def make_grpc_channel(
    settings: ChannelSettings, extra_options: Sequence[tuple[str, Any]] = (), *, user_agent: str = "rpcctl"
) -> grpc.aio.Channel:
    """A grpcio channel for the settings: size limits, authority, TLS as `rpcctl call` does it."""
    target = settings.target
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", settings.max_message_size),
        ("grpc.max_send_message_length", settings.max_message_size),
        ("grpc.enable_retries", 0),
        ("grpc.primary_user_agent", user_agent),
        *extra_options,
    ]
    if settings.authority:
        options.append(("grpc.default_authority", settings.authority))
    address = target.address
    if not (settings.tls.enabled or target.tls):
        return grpc.aio.insecure_channel(address, options=options)
    roots, cert, key = settings.tls.read_files()
    if (cert is None) != (key is None):
        raise UsageError("--cert and --key go together")
    servername = settings.tls.servername
    if settings.tls.insecure:
        roots, servername = _trust_whatever_is_served(settings, servername)
    if servername:
        options.append(("grpc.ssl_target_name_override", servername))
    credentials = grpc.ssl_channel_credentials(roots, key, cert)
    return grpc.aio.secure_channel(address, credentials, options=options)


def _trust_whatever_is_served(settings: ChannelSettings, servername: str | None) -> tuple[bytes, str | None]:
    """For --insecure: grpcio cannot skip verification, so trust the certificate served."""
    target = settings.target
    try:
        pem = ssl.get_server_certificate(
            (target.host, target.port), timeout=settings.connect_timeout or DEFAULT_CONNECT_TIMEOUT
        )
    except (OSError, ssl.SSLError) as exc:
        raise TransportError(f"cannot connect to {target.address}: {exc}") from exc
    if servername is None:
        servername = _certificate_name(pem) or target.host
    return pem.encode(), servername


def _certificate_name(pem: str) -> str | None:
    """A DNS name or IP the certificate is valid for (its first SAN, else its CN)."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".pem") as handle:
        handle.write(pem)
        handle.flush()
        try:
            info = ssl._ssl._test_decode_cert(handle.name)  # type: ignore[attr-defined]
        except (ssl.SSLError, AttributeError):
            return None
    for _kind, value in info.get("subjectAltName", ()):
        return str(value)
    for rdn in info.get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                return str(value)
    return None


async def _diagnose(settings: ChannelSettings) -> str:
    """Explain a failed connection by trying a plain socket to the same address."""
    target = settings.target
    try:
        if target.unix_path is not None:
            _, writer = await asyncio.wait_for(asyncio.open_unix_connection(target.unix_path), 5)
        else:
            _, writer = await asyncio.wait_for(asyncio.open_connection(target.host, target.port), 5)
    except (OSError, TimeoutError) as exc:
        reason = socket_reason(exc)
        return f"cannot connect to {target.address}: {reason or 'timed out'}"
    writer.close()
    if settings.tls.enabled or target.tls:
        return (
            f"TLS handshake with {target.address} failed (use --cacert, or --insecure to skip verification)"
        )
    return f"{target.address} accepted the connection but does not speak gRPC over HTTP/2 (is it TLS? try https://)"


def _to_grpc_metadata(metadata: Metadata) -> list[tuple[str, str | bytes]]:
    return list(metadata.items())


def _from_grpc_metadata(pairs: Any) -> Metadata:
    if not pairs:
        return Metadata()
    return Metadata.from_pairs((str(key), value) for key, value in pairs)
