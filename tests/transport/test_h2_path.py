"""The `h2` full-duplex path against an `h2` test server: duplex, resets, fallbacks, cancel."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import h2.errors
import pytest

from rpcctl.call import CallOptions, MethodInfo, unary
from rpcctl.client import RpcChannel
from rpcctl.errors import RpcError, TransportError
from rpcctl.schema.registry import CallKind
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from rpcctl.wire.envelope import EnvelopeReader, encode_envelope
from rpcctl.wire.status import Code
from rpcctl.wire_call import WireCall
from tests.transport.servers import H2Exchange, H2Server, Http1Server, Request, response

CHAT = MethodInfo("/t.v1.S/Chat", CallKind.BIDI)
UNARY = MethodInfo("/t.v1.S/Unary", CallKind.UNARY)
STREAM_CT = [("content-type", "application/connect+json")]
LIMIT = 10.0


async def echo_each(exchange: H2Exchange) -> None:
    """Bidi echo: answers every request envelope as soon as it arrives."""
    exchange.server.events.append(f"path {exchange.header(':path')}")
    await exchange.respond(STREAM_CT)
    reader = EnvelopeReader()
    while (data := await exchange.data.get()) is not None:
        for envelope in reader.feed(data):
            exchange.server.events.append(f"recv {envelope.data.decode()}")
            await exchange.send(encode_envelope(envelope.data))
            exchange.server.events.append(f"sent {envelope.data.decode()}")
    await exchange.send(encode_envelope(b'{"metadata":{"x-t":["done"]}}', 0x02), end=True)


def settings(server: H2Server, **kwargs: object) -> ChannelSettings:
    target = Target.parse(f"http://127.0.0.1:{server.port}/api")
    return ChannelSettings(target, **kwargs)  # type: ignore[arg-type]


@pytest.mark.asyncio
@pytest.mark.parametrize("http2", [True, None])
async def test_bidi_is_full_duplex(http2: bool | None) -> None:
    server = H2Server(echo_each)
    async with server.running():
        channel = RpcChannel(settings(server, http2=http2))
        try:
            async with asyncio.timeout(LIMIT):
                call = await channel.open(CHAT, CallOptions())
                assert isinstance(call, WireCall) and call.full_duplex
                await call.send(b'{"n":1}')
                # The first response is read before the second request exists.
                assert await call.receive() == b'{"n":1}'
                assert server.events[-2:] == ['recv {"n":1}', 'sent {"n":1}']
                await call.send(b'{"n":2}')
                assert await call.receive() == b'{"n":2}'
                await call.close_send()
                assert await call.receive() is None
                assert call.trailers.get("x-t") == "done"
                assert call.http_version == "HTTP/2"
        finally:
            await channel.aclose()
    assert server.events[0] == "path /api/t.v1.S/Chat"


@pytest.mark.asyncio
async def test_unary_over_h2_with_authority_override() -> None:
    seen: list[str | None] = []

    async def handler(exchange: H2Exchange) -> None:
        seen.append(exchange.header(":authority"))
        while await exchange.data.get() is not None:
            pass
        await exchange.respond([("content-type", "application/json"), ("trailer-x", "1")])
        await exchange.send(b'{"ok":true}', end=True)

    server = H2Server(handler)
    async with server.running():
        channel = RpcChannel(settings(server, http2=True, authority="api.example"))
        try:
            async with asyncio.timeout(LIMIT):
                assert await unary(channel, UNARY, b"{}", CallOptions()) == b'{"ok":true}'
        finally:
            await channel.aclose()
    assert seen == ["api.example"]


@pytest.mark.asyncio
async def test_stream_reset_by_server() -> None:
    async def handler(exchange: H2Exchange) -> None:
        await exchange.respond(STREAM_CT)
        await exchange.reset(h2.errors.ErrorCodes.REFUSED_STREAM)

    server = H2Server(handler)
    async with server.running():
        channel = RpcChannel(settings(server, http2=True))
        try:
            async with asyncio.timeout(LIMIT):
                call = await channel.open(CHAT, CallOptions())
                with pytest.raises(RpcError) as info:
                    await call.receive()
        finally:
            await channel.aclose()
    assert info.value.code is Code.UNAVAILABLE and "REFUSED_STREAM" in info.value.message


@pytest.mark.asyncio
async def test_deadline_and_cancel_reset_the_stream() -> None:
    async def silent(exchange: H2Exchange) -> None:
        await asyncio.sleep(30)

    server = H2Server(silent)
    async with server.running():
        channel = RpcChannel(settings(server, http2=True))
        try:
            async with asyncio.timeout(LIMIT):
                call = await channel.open(CHAT, CallOptions(timeout=0.2))
                with pytest.raises(RpcError) as info:
                    await call.receive()
                assert info.value.code is Code.DEADLINE_EXCEEDED
                call2 = await channel.open(CHAT, CallOptions())
                await call2.cancel()
                with pytest.raises(RpcError) as info2:
                    await call2.receive()
                assert info2.value.code is Code.CANCELLED
                for _ in range(50):
                    if len(server.events) >= 2:
                        break
                    await asyncio.sleep(0.02)
        finally:
            await channel.aclose()
    assert server.events == ["reset 1 8", "reset 3 8"]  # RST_STREAM(CANCEL)


async def _http1_echo(request: Request, writer: asyncio.StreamWriter) -> None:
    reader = EnvelopeReader()
    body = b"".join(encode_envelope(e.data) for e in reader.feed(request.body))
    writer.write(response("200 OK", STREAM_CT, body + encode_envelope(b"{}", 0x02)))


@pytest.mark.asyncio
async def test_http2_demanded_from_an_http1_server() -> None:
    server = Http1Server(_http1_echo)
    async with server.running():
        channel = RpcChannel(ChannelSettings(Target.parse(f"http://127.0.0.1:{server.port}"), http2=True))
        try:
            with pytest.raises(TransportError, match="does not speak HTTP/2"):
                await channel.open(CHAT, CallOptions())
        finally:
            await channel.aclose()


@pytest.mark.asyncio
async def test_auto_bidi_falls_back_to_http1_half_duplex() -> None:
    server = Http1Server(_http1_echo)
    async with server.running():
        channel = RpcChannel(ChannelSettings(Target.parse(f"http://127.0.0.1:{server.port}")))
        try:
            async with asyncio.timeout(LIMIT):
                call = await channel.open(CHAT, CallOptions())
                assert isinstance(call, WireCall) and not call.full_duplex
                for n in (1, 2):
                    await call.send(json.dumps({"n": n}).encode())
                await call.close_send()
                assert [await call.receive(), await call.receive(), await call.receive()] == [
                    b'{"n": 1}',
                    b'{"n": 2}',
                    None,
                ]
        finally:
            await channel.aclose()


@pytest.mark.asyncio
async def test_grpc_web_bidi_over_h2() -> None:
    async def handler(exchange: H2Exchange) -> None:
        await exchange.respond([("content-type", "application/grpc-web+json")])
        reader = EnvelopeReader()
        while (data := await exchange.data.get()) is not None:
            for envelope in reader.feed(data):
                await exchange.send(encode_envelope(envelope.data))
        await exchange.send(encode_envelope(b"grpc-status: 0\r\n", 0x80), end=True)

    server = H2Server(handler)
    async with server.running():
        channel = RpcChannel(settings(server, http2=True, protocol=RpcProtocol.GRPC_WEB))
        try:
            async with asyncio.timeout(LIMIT):
                call = await channel.open(CHAT, CallOptions())
                await call.send(b"{}")
                assert await call.receive() == b"{}"
                await call.close_send()
                assert await call.receive() is None
        finally:
            await channel.aclose()


@pytest.mark.asyncio
async def test_reflection_over_http1_runs_one_call_per_request() -> None:
    from rpcctl.loader import _OneRequestStream
    from rpcctl.wire.metadata import Metadata

    path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    server = Http1Server(_http1_echo)
    async with server.running():
        target = Target.parse(f"http://127.0.0.1:{server.port}")
        channel = RpcChannel(ChannelSettings(target, http2=False))
        stream = _OneRequestStream(channel, path, Metadata())
        stream._options = dataclasses.replace(stream._options, codec="json")  # what the echo server speaks
        try:
            async with asyncio.timeout(LIMIT):
                await stream.send(b'{"q":1}')
                assert await stream.receive() == b'{"q":1}'
                await stream.send(b'{"q":2}')
                assert await stream.receive() == b'{"q":2}'
                await stream.aclose()
        finally:
            await channel.aclose()
    assert len(server.requests) == 2
