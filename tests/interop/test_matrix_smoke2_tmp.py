from __future__ import annotations
import asyncio, json
import pytest
from rpcctl.client import CallOptions, MethodInfo
from rpcctl.schema.registry import CallKind
from rpcctl.transport.factory import open_channel
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target

@pytest.mark.interop
@pytest.mark.asyncio
@pytest.mark.parametrize("peer", ["node_peer", "connect_python_peer"])
@pytest.mark.parametrize("proto", [RpcProtocol.CONNECT, RpcProtocol.GRPC_WEB])
async def test_full_duplex(request, peer, proto):
    p = request.getfixturevalue(peer)
    ch = open_channel(ChannelSettings(Target.parse(p.base_url), protocol=proto))
    try:
        call = await ch.open(MethodInfo("/rpcctl.test.v1.TestService/Chat", CallKind.BIDI), CallOptions(timeout=5))
        print(type(call).__name__, call.full_duplex)
        await call.send(json.dumps({"message": "one"}).encode())
        first = await asyncio.wait_for(call.receive(), 3)
        print(first)
        await call.send(json.dumps({"message": "two"}).encode())
        second = await asyncio.wait_for(call.receive(), 3)
        await call.close_send()
        assert await call.receive() is None
        print(second, call.http_version, call.trailers)
    finally:
        await ch.aclose()
