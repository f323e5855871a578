"""An answer that breaks the connection fails every call on it at once, with one error.

Two concurrent calls over one HTTP/2 connection (a unary call on the channel's cheap path, the
one bench takes, and a server stream on the general one); the server answers the first
request it reads with ``:status: abc``, a malformed response (RFC 9113 §8.3.2) that the
connection's reader cannot take, and keeps the other waiting. Both calls must fail with the
same INTERNAL error, well before any keepalive or deadline would end them, and nothing may be
left behind ("Task exception was never retrieved" is a warning, an error under pytest).
"""

from __future__ import annotations

import asyncio

import pytest

from rpcctl.call import CallOptions, MethodInfo
from rpcctl.client import open_channel
from rpcctl.errors import RpcError
from rpcctl.schema.registry import CallKind
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from rpcctl.wire.status import Code
from tests.transport.test_lean_h2_frames import END_HEADERS, GOAWAY, HEADERS, Peer, frame, raw_h2

# Far below the keepalive (20 s) and any default deadline: a failure that waited for one of
# them would not come in time.
LIMIT = 5.0
ECHO = MethodInfo("/rpcctl.test.v1.TestService/Echo", CallKind.UNARY)
COUNT = MethodInfo("/rpcctl.test.v1.TestService/Count", CallKind.SERVER_STREAM)
HI = b"\x0a\x02hi"  # EchoRequest{message: "hi"}
COUNT_3 = b"\x08\x03"  # CountRequest{count: 3}


async def break_on_first(peer: Peer, n: int) -> None:
    """Read both requests' heads, answer the first with a malformed status, keep the other."""
    _, first, _ = await peer.read_until(HEADERS)
    await peer.read_until(HEADERS)
    await peer.send(frame(HEADERS, END_HEADERS, first, peer.block([(":status", "abc")])))
    await peer.read_until(GOAWAY)


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", [RpcProtocol.GRPC, RpcProtocol.CONNECT])
async def test_a_broken_answer_fails_every_call_on_the_connection(protocol: RpcProtocol) -> None:
    async with raw_h2(break_on_first) as endpoint:
        settings = ChannelSettings(
            Target.parse(f"http://127.0.0.1:{endpoint.port}"), protocol=protocol, codec="proto", http2=True
        )
        channel = open_channel(settings)
        try:
            async with asyncio.timeout(LIMIT):

                async def stream() -> list[bytes]:
                    call = await channel.open(COUNT, CallOptions())
                    await call.send(COUNT_3)
                    await call.close_send()
                    received = []
                    while (message := await call.receive()) is not None:
                        received.append(message)
                    return received

                results = await asyncio.gather(
                    channel.unary(ECHO, HI, CallOptions()), stream(), return_exceptions=True
                )
        finally:
            await channel.aclose()
    errors = [(type(r), getattr(r, "code", None), str(r)) for r in results]
    assert all(isinstance(result, RpcError) for result in results), errors
    unary_error, stream_error = results
    assert isinstance(unary_error, RpcError) and isinstance(stream_error, RpcError)
    assert unary_error.code is stream_error.code is Code.INTERNAL
    assert unary_error.message == stream_error.message
    assert "a response :status of b'abc'" in unary_error.message
