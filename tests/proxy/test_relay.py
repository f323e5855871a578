"""The proxy's relay against a real grpcio upstream: rpcctl's client → proxy (our server) → grpcio.

Every call kind over native gRPC, with the events the relay publishes: metadata and trailers
pass, errors keep their details, a server stream and a bidi stream go on as they arrive (full
duplex), the client's deadline and cancellation reach the upstream, methods no schema knows
pass as raw bytes, and an upstream that is down gives UNAVAILABLE naming it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from rpcctl.call import CallOptions, MethodInfo, unary
from rpcctl.call_events import CallEvent, EventBus, EventKind, Subscription
from rpcctl.client import RpcChannel, open_channel
from rpcctl.errors import RpcError
from rpcctl.proxy.forward import serve_proxy
from rpcctl.schema.registry import CallKind
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

SVC = "/rpcctl.test.v1.TestService/"
WAIT_S = 10.0


def _msg(schema: Any, name: str, **fields: Any) -> Any:
    return schema.message_class(schema.pool.FindMessageTypeByName(f"rpcctl.test.v1.{name}"))(**fields)


class Proxied:
    """A proxy in front of an upstream, a channel to it, and the proxy's events."""

    def __init__(self, channel: RpcChannel, bus: EventBus, sub: Subscription) -> None:
        self.channel = channel
        self.bus = bus
        self.sub = sub

    async def events(self, ends: int = 1) -> list[CallEvent]:
        """The events so far, once `ends` calls have ended (bounded wait)."""
        events: list[CallEvent] = []
        async with asyncio.timeout(WAIT_S):
            while sum(e.kind is EventKind.END for e in events) < ends:
                events.append(await self.sub.get())
        return events


@contextlib.asynccontextmanager
async def _proxied(upstream: str, schema: Any, **options: Any) -> AsyncIterator[Proxied]:
    bus = EventBus()
    with bus.subscribe() as sub:
        async with serve_proxy(upstream, bus=bus, schema=schema, **options) as server:
            settings = ChannelSettings(
                Target.parse(f"http://127.0.0.1:{server.port}"), protocol=RpcProtocol.GRPC, codec="proto"
            )
            channel = open_channel(settings)
            try:
                yield Proxied(channel, bus, sub)
            finally:
                await channel.aclose()


@pytest_asyncio.fixture
async def proxied(grpc_server: Any, test_schema: Any) -> AsyncIterator[Proxied]:
    async with _proxied(grpc_server.target, test_schema) as running:
        yield running


def _info(name: str, kind: CallKind) -> MethodInfo:
    return MethodInfo(SVC + name, kind)


@pytest.mark.asyncio
async def test_unary_with_metadata(proxied: Proxied, test_schema: Any) -> None:
    options = CallOptions(metadata=Metadata([("x-user", "alice")]))
    call = await proxied.channel.open(_info("Echo", CallKind.UNARY), options)
    await call.send(_msg(test_schema, "EchoRequest", message="hi").SerializeToString())
    await call.close_send()
    response = _msg(test_schema, "EchoResponse").FromString(await call.receive())
    assert await call.receive() is None
    assert response.message == "hi"
    assert "x-user: alice" in response.headers
    assert (await call.response_headers()).get("x-echo-initial") == "yes"
    assert call.trailers.get("x-echo-trailer") == "done"
    events = await proxied.events()
    assert [e.kind for e in events] == [EventKind.START, EventKind.REQUEST, EventKind.RESPONSE, EventKind.END]
    assert events[1].message == {"message": "hi"}
    assert events[2].message["message"] == "hi"
    assert events[3].info["code"] == 0
    assert 0 < events[3].info["duration"] < 60  # seconds, measured from the start event
    assert ("x-echo-trailer", "done") in events[3].info["trailers"]
    assert len({e.call_id for e in events}) == 1


@pytest.mark.asyncio
async def test_error_with_details(proxied: Proxied, test_schema: Any) -> None:
    request = _msg(test_schema, "FailRequest", code=9, message="nope", with_details=True)
    with pytest.raises(RpcError) as info:
        await unary(
            proxied.channel, _info("Fail", CallKind.UNARY), request.SerializeToString(), CallOptions()
        )
    assert info.value.code is Code.FAILED_PRECONDITION
    assert info.value.message == "nope"
    assert [d.type_name for d in info.value.details] == ["google.rpc.ErrorInfo", "google.rpc.BadRequest"]
    end = (await proxied.events())[-1]
    assert end.kind is EventKind.END and end.info["code"] == 9
    assert end.info["details"][0]["type"] == "google.rpc.ErrorInfo"
    assert end.info["details"][0]["debug"]["reason"] == "TEST_FAILURE"


@pytest.mark.asyncio
async def test_server_stream_relays_as_it_arrives(proxied: Proxied, test_schema: Any) -> None:
    call = await proxied.channel.open(_info("Count", CallKind.SERVER_STREAM), CallOptions())
    await call.send(_msg(test_schema, "CountRequest", count=3, interval_ms=3000).SerializeToString())
    await call.close_send()
    # The first message arrives long before the second exists upstream.
    async with asyncio.timeout(WAIT_S / 4):
        first = await call.receive()
    assert first is not None and _msg(test_schema, "CountResponse").FromString(first).n == 1
    await call.cancel()


@pytest.mark.asyncio
async def test_client_stream(proxied: Proxied, test_schema: Any) -> None:
    call = await proxied.channel.open(_info("Sum", CallKind.CLIENT_STREAM), CallOptions())
    for n in (1, 2, 3):
        await call.send(_msg(test_schema, "CountResponse", n=n).SerializeToString())
    await call.close_send()
    response = _msg(test_schema, "SumResponse").FromString(await call.receive())
    assert (response.total, response.messages) == (6, 3)
    events = await proxied.events()
    assert len([e for e in events if e.kind is EventKind.REQUEST]) == 3


@pytest.mark.asyncio
async def test_bidi_is_full_duplex(proxied: Proxied, test_schema: Any) -> None:
    call = await proxied.channel.open(_info("Chat", CallKind.BIDI), CallOptions(timeout=WAIT_S))
    seqs = []
    for i in range(3):
        await call.send(_msg(test_schema, "EchoRequest", message=f"m{i}").SerializeToString())
        # Each answer comes back before the next request is sent.
        answer = await call.receive()
        assert answer is not None
        seqs.append(_msg(test_schema, "EchoResponse").FromString(answer).seq)
    await call.close_send()
    assert await call.receive() is None
    assert seqs == [1, 2, 3]


@pytest.mark.asyncio
async def test_deadline_propagates(proxied: Proxied, test_schema: Any) -> None:
    request = _msg(test_schema, "EchoRequest", message="slow", delay_ms=5000).SerializeToString()
    with pytest.raises(RpcError) as info:
        await unary(proxied.channel, _info("Echo", CallKind.UNARY), request, CallOptions(timeout=0.3))
    assert info.value.code is Code.DEADLINE_EXCEEDED
    end = (await proxied.events())[-1]
    assert end.info["code"] == Code.DEADLINE_EXCEEDED


@pytest.mark.asyncio
async def test_client_cancel_cancels_upstream(proxied: Proxied, test_schema: Any) -> None:
    call = await proxied.channel.open(_info("Chat", CallKind.BIDI), CallOptions())
    await call.send(_msg(test_schema, "EchoRequest", message="x").SerializeToString())
    assert await call.receive() is not None
    await call.cancel()
    end = (await proxied.events())[-1]
    assert end.kind is EventKind.END and end.info["code"] == Code.CANCELLED


@pytest.mark.asyncio
async def test_unknown_method_passes_through_raw(grpc_server: Any, test_schema: Any) -> None:
    request = _msg(test_schema, "CountRequest", count=2).SerializeToString()
    async with _proxied(grpc_server.target, None) as running:  # no schema at all
        call = await running.channel.open(_info("Count", CallKind.SERVER_STREAM), CallOptions())
        await call.send(request)
        await call.close_send()
        received = [m async for m in _all(call)]
        events = await running.events()
    assert len(received) == 2
    assert events[1].message is None and events[1].raw == request
    assert [e.raw for e in events if e.kind is EventKind.RESPONSE] == received


async def _all(call: Any) -> AsyncIterator[bytes]:
    while (message := await call.receive()) is not None:
        yield message


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", [RpcProtocol.GRPC, RpcProtocol.CONNECT, RpcProtocol.GRPC_WEB])
async def test_upstream_down_is_unavailable(
    test_schema: Any, closed_port: int, protocol: RpcProtocol
) -> None:
    upstream = f"http://127.0.0.1:{closed_port}"
    async with _proxied(upstream, test_schema) as running:
        running.channel.settings = ChannelSettings(
            running.channel.settings.target, protocol=protocol, codec="proto"
        )
        with pytest.raises(RpcError) as info:
            await unary(running.channel, _info("Echo", CallKind.UNARY), b"", CallOptions(timeout=WAIT_S))
        end = (await running.events())[-1]
    assert info.value.code is Code.UNAVAILABLE
    assert info.value.message.startswith(f"upstream {upstream} unavailable: cannot connect")
    assert end.info["code"] == Code.UNAVAILABLE


def test_proxy_table_relays_every_path(grpc_server: Any) -> None:
    from rpcctl.proxy.forward import proxy_table
    from rpcctl.proxy.relay import Relay

    table = proxy_table(grpc_server.target)
    assert isinstance(table.relay, Relay)
    assert table.lookup(SVC + "Echo") is None


def test_upstream_without_a_chosen_version_prefers_http2() -> None:
    from rpcctl.proxy.relay import Relay

    relay = Relay("http://127.0.0.1:1")
    assert relay.pool.settings.prefer_http2 is True
    assert relay.pool.settings.http2 is None
    # A version chosen for the upstream is kept.
    http1 = Relay(ChannelSettings(Target.parse("http://127.0.0.1:1"), http2=False))
    assert http1.pool.settings.http2 is False and http1.pool.settings.prefer_http2 is False


@pytest.mark.asyncio
async def test_request_over_the_proxy_limit_is_refused_naming_the_upstream(
    grpc_server: Any, test_schema: Any
) -> None:
    request = _msg(test_schema, "EchoRequest", message="x" * 4096).SerializeToString()
    async with _proxied(grpc_server.target, test_schema, max_message_size=1024) as running:
        running.channel.settings = ChannelSettings(
            running.channel.settings.target, protocol=RpcProtocol.CONNECT, codec="proto"
        )
        with pytest.raises(RpcError) as info:
            await unary(running.channel, _info("Echo", CallKind.UNARY), request, CallOptions(timeout=WAIT_S))
    assert info.value.code is Code.RESOURCE_EXHAUSTED
    assert f"the proxy for upstream {grpc_server.target} refuses it" in info.value.message
