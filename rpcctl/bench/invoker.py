"""How one bench call is made: a small interface, lean hot paths for unary calls, a generic path.

`make_invoker` picks the cheapest: unary native gRPC on `LeanGrpcInvoker` (prebuilt HTTP/2
requests), unary Connect and gRPC-Web on `LeanHttpInvoker` (HTTP/1.1) or `LeanH2Invoker`
(HTTP/2); streams of every protocol on the `Channel` API (`ChannelInvoker`), the one that
`call`, replay and the proxy use. Measured on this machine with `benchmarks/bench_cpu.py`: the
lean HTTP/2 path costs about 15 µs of client CPU per unary call. `RPCCTL_BENCH_LEAN=0` turns
the lean paths off (for comparisons)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from rpcctl.errors import RpcError, TransportError
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.call import Call, MethodInfo
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


class ChannelInvoker:
    """Any protocol and call kind through rpcctl's `Channel` API."""

    def __init__(
        self, settings: ChannelSettings, method: MethodInfo, metadata: Metadata, timeout: float | None
    ) -> None:
        from rpcctl.call import CallOptions
        from rpcctl.client import open_channel

        self.settings = settings
        self.method = method
        self.channel = open_channel(settings)
        self._options = CallOptions(metadata=metadata, timeout=timeout)
        self._timeout = timeout

    async def connect(self) -> None:
        """Open the connection now where the first call would (HTTP/2: TLS, h2c, native gRPC)."""
        await self.channel.connect(self.method)

    def _options_for(self, metadata: Metadata | None) -> Any:
        from rpcctl.call import CallOptions

        if metadata is None:
            return self._options
        return CallOptions(metadata=metadata, timeout=self._timeout)

    async def unary(self, request: bytes, metadata: Metadata | None) -> None:
        """One unary call."""
        from rpcctl.call import unary

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

    if settings.protocol is RpcProtocol.GRPC and lean_grpc_supported(settings, method):
        return LeanGrpcInvoker(settings, method, metadata, timeout)
    if lean_supported(settings, method):
        return LeanHttpInvoker(settings, method, metadata, timeout)
    if lean_h2_supported(settings, method):
        return LeanH2Invoker(settings, method, metadata, timeout)
    return ChannelInvoker(settings, method, metadata, timeout)
