"""How one bench call is made: a small interface, lean hot paths for unary calls, a generic path.

`make_invoker` picks the cheapest: unary native gRPC on `LeanGrpcInvoker` (HTTP/2 frames
written directly, no grpcio), unary Connect and gRPC-Web on `LeanHttpInvoker` (HTTP/1.1) or
`LeanH2Invoker` (HTTP/2); streams on grpcio (`GrpcInvoker`) or the `Channel` API
(`ChannelInvoker`). Measured on this machine with `benchmarks/bench_cpu.py`: a raw `grpc.aio`
`unary_unary` on bytes costs about 55 µs of client CPU per call, the lean HTTP/2 path about
15 µs. `RPCCTL_BENCH_LEAN=0` turns the lean paths off (for comparisons)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from rpcctl.errors import RpcError, TransportError
from rpcctl.transport.target import DEFAULT_CONNECT_TIMEOUT
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.client import Call, Channel, MethodInfo
    from rpcctl.transport.target import ChannelSettings
    from rpcctl.wire.metadata import Metadata


class Invoker(Protocol):
    """Makes calls of one method over one connection; errors are `RpcError`s."""

    async def connect(self) -> None:
        """Open the connection now; `TransportError` if it cannot be."""

    async def unary(self, request: bytes, metadata: Metadata | None) -> None:
        """One unary call (None metadata: the run's static headers)."""

    async def stream(self, requests: Sequence[bytes], interval: float, metadata: Metadata | None) -> int:
        """One streaming call; returns the number of responses."""

    async def aclose(self) -> None:
        """Close the connection."""


async def run_stream(call: Call, requests: Sequence[bytes], interval: float, bidi: bool) -> int:
    """Send `requests` (one every `interval` seconds) and read every response of a call."""

    async def send_all() -> None:
        for index, request in enumerate(requests):
            if index and interval:
                await asyncio.sleep(interval)
            await call.send(request)
        await call.close_send()

    sender = asyncio.ensure_future(send_all()) if bidi else None
    try:
        if sender is None:
            await send_all()
        count = 0
        while await call.receive() is not None:
            count += 1
        if sender is not None:
            await sender
        return count
    except BaseException:
        if sender is not None and not sender.done():
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        await call.cancel()
        raise


class GrpcInvoker:
    """Native gRPC on a grpcio channel of its own (so N invokers are N connections)."""

    def __init__(
        self, settings: ChannelSettings, method: MethodInfo, metadata: Metadata, timeout: float | None
    ) -> None:
        from rpcctl.bench.grpc_channel import make_channel

        self.settings = settings
        self.method = method
        self.timeout = timeout
        self._metadata = _grpc_metadata(metadata)
        self._channel = make_channel(settings)
        self._unary = self._channel.unary_unary(method.path)
        self._streaming = self._channel.stream_stream(method.path)

    async def connect(self) -> None:
        """Wait until the channel is READY."""
        import grpc

        timeout = self.settings.connect_timeout or DEFAULT_CONNECT_TIMEOUT
        try:
            await asyncio.wait_for(self._channel.channel_ready(), timeout)
        except TimeoutError:
            state = self._channel.get_state()
            raise TransportError(
                f"cannot connect to {self.settings.target.address} ({state.name.lower()})"
            ) from None
        except grpc.aio.UsageError as exc:  # pragma: no cover - channel closed under us
            raise TransportError(str(exc)) from exc

    async def unary(self, request: bytes, metadata: Metadata | None) -> None:
        """A raw-bytes unary call."""
        import grpc

        try:
            await self._unary(
                request,
                metadata=self._metadata if metadata is None else _grpc_metadata(metadata),
                timeout=self.timeout,
            )
        except grpc.aio.AioRpcError as exc:
            raise RpcError(Code.from_number(exc.code().value[0]), exc.details() or "") from None

    async def stream(self, requests: Sequence[bytes], interval: float, metadata: Metadata | None) -> int:
        """A streaming call through `GrpcioCall`, on this invoker's own channel."""
        from rpcctl.transport.grpcio_channel import GrpcioCall

        md = self._metadata if metadata is None else _grpc_metadata(metadata)

        def start() -> Any:
            return self._streaming(metadata=md, timeout=self.timeout)

        bidi = self.method.kind.client_streams and self.method.kind.server_streams
        return await run_stream(GrpcioCall(start), requests, interval, bidi)

    async def aclose(self) -> None:
        """Close the channel."""
        await self._channel.close()


class ChannelInvoker:
    """Any protocol through rpcctl's `Channel` API (Connect and gRPC-Web use this)."""

    def __init__(
        self, settings: ChannelSettings, method: MethodInfo, metadata: Metadata, timeout: float | None
    ) -> None:
        from rpcctl.client import CallOptions
        from rpcctl.transport.factory import open_channel

        self.settings = settings
        self.method = method
        self.channel: Channel = open_channel(settings)
        self._options = CallOptions(metadata=metadata, timeout=timeout)
        self._timeout = timeout

    async def connect(self) -> None:
        """Nothing to do ahead: HTTP connections open with the first call."""

    def _options_for(self, metadata: Metadata | None) -> Any:
        from rpcctl.client import CallOptions

        if metadata is None:
            return self._options
        return CallOptions(metadata=metadata, timeout=self._timeout)

    async def unary(self, request: bytes, metadata: Metadata | None) -> None:
        """One unary call."""
        from rpcctl.client import unary

        try:
            await unary(self.channel, self.method, request, self._options_for(metadata))
        except TransportError as exc:
            raise RpcError(Code.UNAVAILABLE, str(exc)) from None

    async def stream(self, requests: Sequence[bytes], interval: float, metadata: Metadata | None) -> int:
        """One streaming call."""
        bidi = self.method.kind.client_streams and self.method.kind.server_streams
        try:
            call = await self.channel.open(self.method, self._options_for(metadata))
            return await run_stream(call, requests, interval, bidi)
        except TransportError as exc:
            raise RpcError(Code.UNAVAILABLE, str(exc)) from None

    async def aclose(self) -> None:
        """Close the channel."""
        await self.channel.aclose()


def make_invoker(
    settings: ChannelSettings, method: MethodInfo, metadata: Metadata, timeout: float | None
) -> Invoker:
    """The cheapest invoker for the settings' protocol and the method's kind."""
    from rpcctl.bench.lean_grpc import LeanGrpcInvoker, lean_grpc_supported
    from rpcctl.bench.lean_invoker import LeanH2Invoker, LeanHttpInvoker, lean_h2_supported, lean_supported
    from rpcctl.transport.target import RpcProtocol

    if settings.protocol is RpcProtocol.GRPC:
        if lean_grpc_supported(settings, method):
            return LeanGrpcInvoker(settings, method, metadata, timeout)
        return GrpcInvoker(settings, method, metadata, timeout)
    if lean_supported(settings, method):
        return LeanHttpInvoker(settings, method, metadata, timeout)
    if lean_h2_supported(settings, method):
        return LeanH2Invoker(settings, method, metadata, timeout)
    return ChannelInvoker(settings, method, metadata, timeout)


def _grpc_metadata(metadata: Metadata) -> tuple[tuple[str, str | bytes], ...]:
    return tuple(metadata.items())
