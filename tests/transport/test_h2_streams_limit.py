"""More calls open on one HTTP/2 connection than the server allows streams: the rest queue."""

from __future__ import annotations

import asyncio

import pytest

from rpcctl.call import CallOptions, MethodInfo
from rpcctl.client import RpcChannel
from rpcctl.schema.registry import CallKind
from rpcctl.server.serve import Server
from rpcctl.transport.target import ChannelSettings, Target
from tests.server.conftest import full_table
from tests.support.schema import compile_test_schema

CHAT = MethodInfo("/rpcctl.test.v1.TestService/Chat", CallKind.BIDI)
OPEN_CALLS = 150  # hypercorn allows 100 concurrent streams per connection


@pytest.mark.asyncio
async def test_streams_beyond_max_concurrent_streams_wait_for_a_slot() -> None:
    schema = compile_test_schema()
    async with Server(full_table(schema), schema=schema) as server:
        channel = RpcChannel(ChannelSettings(Target.parse(server.url), http2=True))

        async def chat(n: int) -> bytes | None:
            call = await channel.open(CHAT, CallOptions())
            await call.send(b'{"message":"%d"}' % n)
            await asyncio.sleep(0.2)  # hold the stream open while the others start
            await call.close_send()
            first = await call.receive()
            assert await call.receive() is None
            return first

        try:
            answers = await asyncio.wait_for(asyncio.gather(*(chat(n) for n in range(OPEN_CALLS))), 60)
        finally:
            await channel.aclose()
    assert len(answers) == OPEN_CALLS
    assert all(answer is not None and b'"seq":1' in answer for answer in answers)
