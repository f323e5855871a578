"""Closing TLS connections: nothing outlives the event loop, whatever the server does."""

from __future__ import annotations

import asyncio
from typing import Any

from rpcctl.call import MethodInfo
from rpcctl.client import RpcChannel
from rpcctl.schema.registry import CallKind
from rpcctl.transport.target import ChannelSettings, Target, TlsSettings

UNARY = MethodInfo("/rpcctl.test.v1.TestService/Echo", CallKind.UNARY)


def test_closing_leaves_no_socket_when_the_server_never_answers_close_notify(grpc_tls_server: Any) -> None:
    """grpcio's TLS server never sends its close_notify: the client must not leave the socket to
    asyncio's 30 s shutdown timeout, which outlives the event loop (a ResourceWarning at GC)."""
    import gc
    import warnings

    async def main() -> None:
        settings = ChannelSettings(
            Target.parse(f"https://127.0.0.1:{grpc_tls_server.port}"),
            http2=True,
            tls=TlsSettings(enabled=True, insecure=True),
        )
        channel = RpcChannel(settings)
        try:
            async with asyncio.timeout(10):
                await channel.connect(UNARY)
        finally:
            await channel.aclose()

    asyncio.run(main())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
