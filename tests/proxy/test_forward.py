"""The forwarding handler against a real grpcio upstream, driven through a fake server call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from rpcctl.errors import RpcError
from rpcctl.proxy.forward import Forwarder, forwarded, proxy_table
from rpcctl.server.events import EventBus, EventKind
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code
from tests.proxy.fakes import FakeServerCall

SVC = "/rpcctl.test.v1.TestService/"


def _msg(schema: Any, name: str, **fields: Any) -> Any:
    return schema.message_class(schema.pool.FindMessageTypeByName(f"rpcctl.test.v1.{name}"))(**fields)


@pytest_asyncio.fixture
async def forwarder(grpc_server: Any, test_schema: Any) -> AsyncIterator[Forwarder]:
    fwd = Forwarder(grpc_server.target, EventBus(), test_schema)
    try:
        yield fwd
    finally:
        await fwd.aclose()


def test_forwarded_headers_drop_protocol_and_hop_by_hop() -> None:
    md = Metadata(
        [
            (":authority", "x"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("grpc-timeout", "1S"),
            ("connect-protocol-version", "1"),
            ("user-agent", "x"),
            ("connection", "close"),
            ("authorization", "Bearer t"),
            ("x-user", "u"),
            ("x-bin", b"\x00"),
        ]
    )
    assert forwarded(md).items() == [("authorization", "Bearer t"), ("x-user", "u"), ("x-bin", b"\x00")]


@pytest.mark.asyncio
async def test_unary_with_metadata(forwarder: Forwarder, test_schema: Any) -> None:
    bus = forwarder.bus
    assert bus is not None
    with bus.subscribe() as sub:
        call = FakeServerCall(
            SVC + "Echo", request_headers=Metadata([("x-user", "alice"), ("te", "trailers")])
        )
        call.push(_msg(test_schema, "EchoRequest", message="hi").SerializeToString())
        call.finish()
        await forwarder(call)
        events = sub.drain()
    response = _msg(test_schema, "EchoResponse").FromString(call.sent[0])
    assert response.message == "hi"
    assert "x-user: alice" in response.headers
    assert not any(h.startswith("te:") for h in response.headers)
    assert call.headers_at_first_send is not None
    assert call.headers_at_first_send.get("x-echo-initial") == "yes"
    assert call.response_trailers.get("x-echo-trailer") == "done"
    assert [e.kind for e in events] == [EventKind.START, EventKind.REQUEST, EventKind.RESPONSE, EventKind.END]
    assert events[1].message == {"message": "hi"}
    assert events[2].message["message"] == "hi"
    assert events[3].info["code"] == 0
    assert 0 < events[3].info["duration"] < 60  # seconds, measured from the start event
    assert ("x-echo-trailer", "done") in events[3].info["trailers"]
    assert {e.call_id for e in events} == {call.call_id}


@pytest.mark.asyncio
async def test_error_with_details(forwarder: Forwarder, test_schema: Any) -> None:
    call = FakeServerCall(SVC + "Fail")
    call.push(_msg(test_schema, "FailRequest", code=9, message="nope", with_details=True).SerializeToString())
    call.finish()
    assert forwarder.bus is not None
    with forwarder.bus.subscribe() as sub, pytest.raises(RpcError) as info:
        await forwarder(call)
    assert info.value.code is Code.FAILED_PRECONDITION
    assert info.value.message == "nope"
    assert [d.type_name for d in info.value.details] == ["google.rpc.ErrorInfo", "google.rpc.BadRequest"]
    assert info.value.metadata == ()
    assert "grpc-status-details-bin" not in call.response_trailers
    end = sub.drain()[-1]
    assert end.kind is EventKind.END and end.info["code"] == 9
    assert end.info["details"][0]["type"] == "google.rpc.ErrorInfo"
    assert end.info["details"][0]["debug"]["reason"] == "TEST_FAILURE"


@pytest.mark.asyncio
async def test_server_stream_relays_as_it_arrives(forwarder: Forwarder, test_schema: Any) -> None:
    call = FakeServerCall(SVC + "Count")
    call.push(_msg(test_schema, "CountRequest", count=3, interval_ms=300).SerializeToString())
    call.finish()
    task = asyncio.create_task(forwarder(call))
    await asyncio.wait_for(call.sent_event.wait(), 5)
    assert len(call.sent) == 1 and not task.done()
    await task
    assert [_msg(test_schema, "CountResponse").FromString(m).n for m in call.sent] == [1, 2, 3]


@pytest.mark.asyncio
async def test_client_stream(forwarder: Forwarder, test_schema: Any) -> None:
    call = FakeServerCall(SVC + "Sum")
    for n in (1, 2, 3):
        call.push(_msg(test_schema, "CountResponse", n=n).SerializeToString())
    call.finish()
    await forwarder(call)
    response = _msg(test_schema, "SumResponse").FromString(call.sent[0])
    assert (response.total, response.messages) == (6, 3)


@pytest.mark.asyncio
async def test_bidi_is_full_duplex(forwarder: Forwarder, test_schema: Any) -> None:
    call = FakeServerCall(SVC + "Chat")
    task = asyncio.create_task(forwarder(call))
    for i in range(3):
        call.sent_event.clear()
        call.push(_msg(test_schema, "EchoRequest", message=f"m{i}").SerializeToString())
        # Each answer comes back before the next request is sent.
        await asyncio.wait_for(call.sent_event.wait(), 5)
        assert len(call.sent) == i + 1
    call.finish()
    await task
    assert [_msg(test_schema, "EchoResponse").FromString(m).seq for m in call.sent] == [1, 2, 3]


@pytest.mark.asyncio
async def test_deadline_propagates(forwarder: Forwarder, test_schema: Any) -> None:
    call = FakeServerCall(SVC + "Echo")
    call.timeout(0.2)
    call.push(_msg(test_schema, "EchoRequest", message="slow", delay_ms=2000).SerializeToString())
    call.finish()
    with pytest.raises(RpcError) as info:
        await forwarder(call)
    assert info.value.code is Code.DEADLINE_EXCEEDED


@pytest.mark.asyncio
async def test_client_cancel_cancels_upstream(forwarder: Forwarder, test_schema: Any) -> None:
    assert forwarder.bus is not None
    with forwarder.bus.subscribe() as sub:
        call = FakeServerCall(SVC + "Chat")
        task = asyncio.create_task(forwarder(call))
        call.push(_msg(test_schema, "EchoRequest", message="x").SerializeToString())
        await asyncio.wait_for(call.sent_event.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        end = sub.drain()[-1]
    assert end.kind is EventKind.END and end.info["code"] == Code.CANCELLED


@pytest.mark.asyncio
async def test_unknown_method_passes_through_raw(grpc_server: Any, test_schema: Any) -> None:
    bus = EventBus()
    forwarder = Forwarder(grpc_server.target, bus)  # no schema at all
    try:
        with bus.subscribe() as sub:
            call = FakeServerCall(SVC + "Count")
            request = _msg(test_schema, "CountRequest", count=2).SerializeToString()
            call.push(request)
            call.finish()
            await forwarder(call)
            events = sub.drain()
    finally:
        await forwarder.aclose()
    assert len(call.sent) == 2
    assert events[1].message is None and events[1].raw == request
    assert [e.raw for e in events if e.kind is EventKind.RESPONSE] == call.sent


@pytest.mark.asyncio
async def test_upstream_down_is_unavailable(test_schema: Any, closed_port: int) -> None:
    port = closed_port
    bus = EventBus()
    forwarder = Forwarder(f"http://127.0.0.1:{port}", bus, test_schema)
    try:
        with bus.subscribe() as sub:
            call = FakeServerCall(SVC + "Echo")
            call.push(b"")
            call.finish()
            with pytest.raises(RpcError) as info:
                await forwarder(call)
            end = sub.drain()[-1]
    finally:
        await forwarder.aclose()
    assert info.value.code is Code.UNAVAILABLE
    assert info.value.message.startswith(f"upstream http://127.0.0.1:{port} unavailable: ")
    # The reason is the transport's ("connect call failed (...)" from grpcio's diagnosis).
    assert "connect" in info.value.message.lower()
    assert end.info["code"] == Code.UNAVAILABLE


def test_proxy_table_fallback(grpc_server: Any) -> None:
    from rpcctl.proxy.relay import Relay

    table = proxy_table(grpc_server.target)
    assert isinstance(table.relay, Relay)
    assert table.lookup(SVC + "Echo") is None


def test_upstream_without_a_chosen_version_prefers_http2() -> None:
    from rpcctl.proxy.forward import Forwarder
    from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target

    forwarder = Forwarder("http://127.0.0.1:1")
    channel = forwarder.channel(RpcProtocol.CONNECT, "proto")
    assert channel.settings.prefer_http2 is True  # type: ignore[attr-defined]
    assert channel.settings.http2 is None  # type: ignore[attr-defined]
    # A version chosen for the upstream is kept.
    http1 = Forwarder(ChannelSettings(Target.parse("http://127.0.0.1:1"), http2=False))
    settings = http1.channel(RpcProtocol.CONNECT, "proto").settings  # type: ignore[attr-defined]
    assert settings.http2 is False and settings.prefer_http2 is False
