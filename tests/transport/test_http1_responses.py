"""Connect and gRPC-Web over HTTP/1.1 against a raw server sending (mal)formed responses."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json

import pytest

from rpcctl.call import CallOptions, MethodInfo, responses, unary
from rpcctl.client import RpcChannel
from rpcctl.errors import ProtocolError, RpcError, TransportError
from rpcctl.schema.registry import CallKind
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from rpcctl.wire.envelope import encode_envelope
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code
from tests.transport.servers import Http1Server, Request, response

UNARY = MethodInfo("/t.v1.S/Unary", CallKind.UNARY)
LOOKUP = MethodInfo("/t.v1.S/Lookup", CallKind.UNARY, no_side_effects=True)
STREAM = MethodInfo("/t.v1.S/Count", CallKind.SERVER_STREAM)
JSON_OK = [("content-type", "application/json")]
STREAM_OK = [("content-type", "application/connect+json")]
END_OK = encode_envelope(b"{}", 0x02)
LIMIT = 10.0  # no test may hang: every call is bounded


def canned(raw: bytes, hold: float = 0.0):  # type: ignore[no-untyped-def]
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()
        if hold:
            await asyncio.sleep(hold)

    return handler


async def call(
    server: Http1Server, method: MethodInfo = UNARY, request: bytes = b"{}", **settings: object
) -> list[bytes]:
    target = Target.parse(f"http://127.0.0.1:{server.port}/prefix")
    timeout = settings.pop("timeout", None)
    compression = settings.pop("compression", None)
    options = CallOptions(
        timeout=timeout,  # type: ignore[arg-type]
        compression=compression,  # type: ignore[arg-type]
        metadata=Metadata([("x-a", "1")]),
        max_message_size=settings.get("max_message_size", 4 << 20),  # type: ignore[arg-type]
    )
    channel = RpcChannel(ChannelSettings(target, **settings))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(LIMIT):
            if not method.kind.server_streams:
                return [await unary(channel, method, request, options)]
            c = await channel.open(method, options)
            await c.send(request)
            await c.close_send()
            return [m async for m in responses(c)]
    finally:
        await channel.aclose()


@pytest.mark.asyncio
async def test_connect_unary_ok_with_prefix_headers_and_trailers() -> None:
    server = Http1Server(canned(response("200 OK", [*JSON_OK, ("trailer-x-t", "v")], b'{"a":1}')))
    async with server.running():
        assert await call(server, timeout=3.0) == [b'{"a":1}']
    req = server.requests[0]
    assert (req.method, req.path) == ("POST", "/prefix/t.v1.S/Unary")
    assert req.header("content-type") == "application/json"
    assert req.header("connect-protocol-version") == "1"
    assert req.header("connect-timeout-ms") in ("3000", "2999")
    assert req.header("x-a") == "1"
    assert req.body == b"{}"


@pytest.mark.asyncio
async def test_connect_get() -> None:
    server = Http1Server(canned(response("200 OK", JSON_OK, b"{}")))
    async with server.running():
        assert await call(server, LOOKUP, b'{"m":"a b"}', use_get=True) == [b"{}"]
    req = server.requests[0]
    assert req.method == "GET"
    assert req.path == "/prefix/t.v1.S/Lookup?connect=v1&encoding=json&message=%7B%22m%22%3A%22a%20b%22%7D"
    assert req.header("content-type") is None and req.body == b""


@pytest.mark.asyncio
async def test_gzip_response_is_decompressed_by_us_not_httpx() -> None:
    body = gzip.compress(b'{"a":1}')
    server = Http1Server(canned(response("200 OK", [*JSON_OK, ("content-encoding", "gzip")], body)))
    async with server.running():
        assert await call(server, compression="gzip") == [b'{"a":1}']
    assert server.requests[0].header("accept-encoding") == "gzip"


@pytest.mark.asyncio
async def test_gzip_bomb_is_resource_exhausted() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20))
    server = Http1Server(canned(response("200 OK", [*JSON_OK, ("content-encoding", "gzip")], bomb)))
    async with server.running():
        with pytest.raises(RpcError) as info:
            await call(server, max_message_size=1 << 20)
    assert info.value.code is Code.RESOURCE_EXHAUSTED


@pytest.mark.asyncio
async def test_html_502_from_a_proxy() -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    server = Http1Server(canned(response("502 Bad Gateway", [("content-type", "text/html")], page)))
    async with server.running():
        with pytest.raises(RpcError) as info:
            await call(server)
    assert info.value.code is Code.UNAVAILABLE
    assert (
        info.value.message == "HTTP 502 Bad Gateway: <html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    )


@pytest.mark.asyncio
async def test_wrong_content_type() -> None:
    server = Http1Server(canned(response("200 OK", [("content-type", "text/html")], b"<html>")))
    async with server.running():
        with pytest.raises(ProtocolError) as info:
            await call(server)
    assert info.value.code is Code.UNKNOWN and "content type" in info.value.message


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "code", "text", "delivered"),
    [
        (encode_envelope(b"1") + encode_envelope(b"22")[:6], Code.INVALID_ARGUMENT, "truncated", 1),
        (encode_envelope(b"1"), Code.INTERNAL, "end-stream", 1),
        # The wire reader drops envelopes completed in the chunk that fails (see the report).
        (encode_envelope(b"1") + END_OK + b"junk", Code.INTERNAL, "extra bytes", 1),
        (encode_envelope(b"1", 0x01) + END_OK, Code.INTERNAL, "compress", 0),
        (b"\x00\xff\xff\xff\xff", Code.RESOURCE_EXHAUSTED, "max", 0),
    ],
)
async def test_malformed_connect_streams(body: bytes, code: Code, text: str, delivered: int) -> None:
    # hold=30: the server keeps the connection open; the client must not wait for it.
    hold = 30.0 if code is Code.RESOURCE_EXHAUSTED else 0.0
    server = Http1Server(canned(response("200 OK", STREAM_OK, body), hold=hold))
    got: list[bytes] = []
    async with server.running():
        channel = RpcChannel(ChannelSettings(Target.parse(f"http://127.0.0.1:{server.port}")))
        try:
            async with asyncio.timeout(LIMIT):
                c = await channel.open(STREAM, CallOptions())
                await c.send(b"{}")
                await c.close_send()
                with pytest.raises(ProtocolError) as info:
                    while (m := await c.receive()) is not None:
                        got.append(m)
        finally:
            await channel.aclose()
    assert info.value.code is code and text in info.value.message
    assert len(got) == delivered
    assert c.status is not None and c.status.code is code


@pytest.mark.asyncio
async def test_stream_end_with_error_and_metadata() -> None:
    end = json.dumps({"error": {"code": "aborted", "message": "no"}, "metadata": {"x-t": ["v"]}})
    body = encode_envelope(b'{"n":1}') + encode_envelope(end.encode(), 0x02)
    server = Http1Server(canned(response("200 OK", STREAM_OK, body)))
    async with server.running():
        with pytest.raises(RpcError) as info:
            await call(server, STREAM)
    assert (info.value.code, info.value.message) == (Code.ABORTED, "no")
    assert info.value.metadata == (("x-t", "v"),)


@pytest.mark.asyncio
async def test_deadline_exceeded_when_server_stalls() -> None:
    server = Http1Server(canned(b"", hold=30.0))
    async with server.running():
        with pytest.raises(RpcError) as info:
            await call(server, timeout=0.2)
    assert info.value.code is Code.DEADLINE_EXCEEDED
    assert server.requests[0].header("connect-timeout-ms") in ("200", "199")


@pytest.mark.asyncio
async def test_connection_refused_names_the_address(closed_port: int) -> None:
    port = closed_port
    channel = RpcChannel(ChannelSettings(Target.parse(f"http://127.0.0.1:{port}")))
    try:
        with pytest.raises(TransportError, match=f"cannot connect to 127.0.0.1:{port}"):
            await unary(channel, UNARY, b"{}", CallOptions())
    finally:
        await channel.aclose()


@pytest.mark.asyncio
async def test_unknown_host_is_a_transport_error() -> None:
    channel = RpcChannel(ChannelSettings(Target.parse("http://no-such-host.invalid:80")))
    try:
        with pytest.raises(TransportError, match=r"no-such-host\.invalid:80"):
            await unary(channel, UNARY, b"{}", CallOptions())
    finally:
        await channel.aclose()


# --- gRPC-Web --------------------------------------------------------------------------

WEB = [("content-type", "application/grpc-web+proto")]


@pytest.mark.asyncio
async def test_grpc_web_unary_and_request_shape() -> None:
    body = encode_envelope(b"\x0a\x01a") + encode_envelope(b"grpc-status: 0\r\nx-t: v\r\n", 0x80)
    server = Http1Server(canned(response("200 OK", WEB, body)))
    async with server.running():
        out = await call(server, protocol=RpcProtocol.GRPC_WEB, codec="proto", timeout=1.0)
    assert out == [b"\x0a\x01a"]
    req = server.requests[0]
    assert req.header("content-type") == "application/grpc-web+proto"
    assert req.header("grpc-timeout") is not None
    assert req.body == encode_envelope(b"{}")


@pytest.mark.asyncio
async def test_grpc_web_trailers_only_error() -> None:
    headers = [*WEB, ("grpc-status", "16"), ("grpc-message", "who%20are%20you")]
    server = Http1Server(canned(response("200 OK", headers)))
    async with server.running():
        with pytest.raises(RpcError) as info:
            await call(server, protocol=RpcProtocol.GRPC_WEB, codec="proto")
    assert (info.value.code, info.value.message) == (Code.UNAUTHENTICATED, "who are you")


@pytest.mark.asyncio
async def test_grpc_web_garbage_trailers() -> None:
    body = encode_envelope(b"x") + encode_envelope(b"\x00garbage\r\n", 0x80)
    server = Http1Server(canned(response("200 OK", WEB, body)))
    async with server.running():
        with pytest.raises(ProtocolError) as info:
            await call(server, protocol=RpcProtocol.GRPC_WEB, codec="proto")
    assert info.value.code is Code.INTERNAL and "trailer" in info.value.message


@pytest.mark.asyncio
async def test_grpc_web_text_stream() -> None:
    frames = [encode_envelope(b"1"), encode_envelope(b"22"), encode_envelope(b"grpc-status: 0\r\n", 0x80)]
    body = b"".join(base64.b64encode(f) for f in frames)
    headers = [("content-type", "application/grpc-web-text+proto")]
    server = Http1Server(canned(response("200 OK", headers, body)))
    async with server.running():
        out = await call(server, STREAM, protocol=RpcProtocol.GRPC_WEB, codec="proto", grpc_web_text=True)
    assert out == [b"1", b"22"]
    assert server.requests[0].body == base64.b64encode(encode_envelope(b"{}"))


@pytest.mark.asyncio
async def test_unix_socket(tmp_path: object) -> None:
    path = f"{tmp_path}/s.sock"
    server = Http1Server(canned(response("200 OK", JSON_OK, b"{}")))
    async with server.running(unix_path=path):
        channel = RpcChannel(ChannelSettings(Target.parse(f"unix://{path}")))
        try:
            assert await unary(channel, UNARY, b"{}", CallOptions()) == b"{}"
        finally:
            await channel.aclose()
    assert server.requests[0].header("host") == "localhost"
