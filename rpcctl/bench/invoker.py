"""How one bench call is made: a small interface over rpcctl's one `Channel` API.

`ChannelInvoker` makes unary calls with the channel's cheap unary method
(`RpcChannel.unary`: requests prepared once, whole responses, the protocol's plainly-OK check,
the decoder for every other answer) and streams with `RpcChannel.open`, the path `call`,
replay and the proxy use. `RPCCTL_BENCH_LEAN=0` sends unary calls through `open` too, to
compare the two (`benchmarks/bench_cpu.py`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from rpcctl.errors import RpcError, TransportError
from rpcctl.wire.status import Code

# RPCCTL_BENCH_LEAN=0: unary calls through `Channel.open` instead of the cheap unary method.
LEAN_ENV = "RPCCTL_BENCH_LEAN"

if TYPE_CHECKING:
    from rpcctl.call import Call, CallOptions, MethodInfo
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
    """Calls of one method, any protocol and call kind, through one `RpcChannel`."""

    def __init__(
        self,
        settings: ChannelSettings,
        method: MethodInfo,
        metadata: Metadata,
        timeout: float | None,
        *,
        cheap: bool | None = None,
    ) -> None:
        """``cheap``: unary calls through `RpcChannel.unary` (None: unless ``RPCCTL_BENCH_LEAN=0``)."""
        from rpcctl.call import CallOptions
        from rpcctl.client import open_channel

        self.settings = settings
        self.method = method
        self.channel = open_channel(settings)
        self._options = CallOptions(metadata=metadata, timeout=timeout)
        self._timeout = timeout
        self._cheap = os.environ.get(LEAN_ENV, "1") != "0" if cheap is None else cheap

    async def connect(self) -> None:
        """Open the connection now where the first call would (HTTP/2: TLS, h2c, native gRPC)."""
        await self.channel.connect(self.method)

    def _options_for(self, metadata: Metadata | None) -> CallOptions:
        if metadata is None:
            return self._options
        from rpcctl.call import CallOptions

        return CallOptions(metadata=metadata, timeout=self._timeout)

    async def unary(self, request: bytes, metadata: Metadata | None) -> None:
        """One unary call."""
        options = self._options if metadata is None else self._options_for(metadata)
        try:
            if self._cheap:
                await self.channel.unary(self.method, request, options)
            else:
                from rpcctl.call import unary_through

                await unary_through(self.channel, self.method, request, options)
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
    """The invoker of one connection's calls: every protocol and call kind on the `Channel` API."""
    return ChannelInvoker(settings, method, metadata, timeout)
