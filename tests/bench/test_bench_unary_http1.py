"""Bench's unary calls for Connect and gRPC-Web over HTTP/1.1: `RpcChannel.unary` (the cheap path).

Against rpcctl's own server: the same report as the general path (`Channel.open`,
``RPCCTL_BENCH_LEAN=0``). Against scripted raw responses: the expected code and message for each,
on both paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from pathlib import Path
from typing import Any

import pytest

from rpcctl.bench.invoker import LEAN_ENV, ChannelInvoker, make_invoker
from rpcctl.call import CallOptions, MethodInfo
from rpcctl.client import open_channel
from rpcctl.errors import RpcError
from rpcctl.schema.registry import CallKind
from rpcctl.wire.metadata import Metadata
from tests.bench.helpers import COUNT, ECHO, check_errors_counted_on_both_paths, check_unary_ok, settings
from tests.bench.raw_http import RawServer, always

HTTP_PROTOCOLS = [("connect", "json"), ("connect", "proto"), ("grpc-web", "proto")]
LIMIT = 10.0  # seconds: no exchange here waits longer


async def _prepared_after_a_call(
    chosen: Any, method: MethodInfo, request: bytes, options: CallOptions | None = None
) -> int:
    """How many prepared unary calls the channel holds after one unary call (0: `open` served it)."""
    channel = open_channel(chosen)
    try:
        async with asyncio.timeout(LIMIT):
            # A stream method called as unary, or a prefix the server lacks: an error, still a call.
            with contextlib.suppress(RpcError):
                await channel.unary(method, request, options or CallOptions())
        return len(channel._prepared)
    finally:
        await channel.aclose()


def test_the_cheap_path_is_taken_where_it_applies(rpcctl_server: str) -> None:
    hi = b"\x0a\x02hi"
    cheap = [
        (settings(rpcctl_server, "connect", codec="proto"), ECHO),
        (settings(rpcctl_server, "connect", codec="proto", http2=True), ECHO),
        (
            settings(rpcctl_server, "connect", codec="proto", use_get=True),
            MethodInfo(ECHO.path, CallKind.UNARY, True),
        ),
        (settings(rpcctl_server, "grpc-web", codec="proto"), ECHO),
        (settings(rpcctl_server, "grpc-web", codec="proto", http2=True), ECHO),
        (settings(rpcctl_server, "grpc", codec="proto"), ECHO),
        (settings(f"{rpcctl_server}/api", "grpc", codec="proto"), ECHO),  # answered UNIMPLEMENTED
    ]
    general = [
        (settings(rpcctl_server, "grpc-web", codec="proto", grpc_web_text=True), ECHO),
        (settings(rpcctl_server, "connect", codec="proto"), COUNT),
    ]
    for chosen, method in cheap:
        assert asyncio.run(_prepared_after_a_call(chosen, method, hi)) == 1, chosen
    for chosen, method in general:
        assert asyncio.run(_prepared_after_a_call(chosen, method, hi)) == 0, chosen
    # A message cap above what the whole-response path takes in one body.
    big = 64 * 1024 * 1024
    chosen = settings(rpcctl_server, "connect", codec="proto", max_msg_size=big)
    assert asyncio.run(_prepared_after_a_call(chosen, ECHO, hi, CallOptions(max_message_size=big))) == 0


def test_bench_makes_unary_calls_on_the_cheap_path_unless_told_not_to(
    rpcctl_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def prepared(invoker: Any) -> int:
        try:
            async with asyncio.timeout(LIMIT):
                await invoker.unary(b"\x0a\x02hi", None)
            return len(invoker.channel._prepared)
        finally:
            await invoker.aclose()

    chosen = settings(rpcctl_server, "connect", codec="proto")
    assert asyncio.run(prepared(make_invoker(chosen, ECHO, Metadata(), None))) == 1
    monkeypatch.setenv(LEAN_ENV, "0")
    assert asyncio.run(prepared(make_invoker(chosen, ECHO, Metadata(), None))) == 0


@pytest.mark.parametrize(("protocol", "codec"), HTTP_PROTOCOLS)
def test_unary_ok_over_http1(rpcctl_server: str, protocol: str, codec: str) -> None:
    check_unary_ok(rpcctl_server, protocol, codec, 40, 4, "--http1")


@pytest.mark.parametrize(("protocol", "codec"), HTTP_PROTOCOLS)
def test_errors_counted_by_code_on_both_paths(
    rpcctl_server: str, protocol: str, codec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_errors_counted_on_both_paths(rpcctl_server, protocol, codec, tmp_path, monkeypatch, "-c", "2")


@pytest.mark.parametrize("cheap", [True, False])
def test_timeout_is_deadline_exceeded(cheap: bool) -> None:
    async def main() -> None:
        async def never(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
            await asyncio.sleep(5)
            return False

        async with RawServer(never).running() as server:
            invoker = ChannelInvoker(settings(f"127.0.0.1:{server.port}"), ECHO, Metadata(), 0.2, cheap=cheap)
            try:
                with pytest.raises(RpcError) as caught:
                    await invoker.unary(b"{}", None)
            finally:
                await invoker.aclose()
            assert caught.value.code.name == "DEADLINE_EXCEEDED"
            assert caught.value.message == "deadline of 0.2s exceeded"
            assert b"connect-timeout-ms: 200" in server.requests[0]

    asyncio.run(main())


def envelope(flags: int, data: bytes) -> bytes:
    return bytes([flags]) + len(data).to_bytes(4, "big") + data


def http(status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), f"content-length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


GW = [("content-type", "application/grpc-web+proto")]
MSG = envelope(0, b"\x0a\x02hi")
# (protocol, codec, the raw HTTP/1.1 answer): the verdicts are in `EXPECTED`, row by row.
CANNED: list[tuple[str, str, bytes]] = [
    ("connect", "json", http("200 OK", [("content-type", "application/json")], b'{"message":"hi"}')),
    ("connect", "json", http("200 OK", [("content-type", "application/json; charset=utf-8")], b"{}")),
    ("connect", "json", http("200 OK", [("content-type", "text/html")], b"<html>")),
    ("connect", "json", http("200 OK", [("content-type", "application/proto")], b"")),
    (
        "connect",
        "json",
        http(
            "200 OK",
            [("content-type", "application/json"), ("content-encoding", "gzip")],
            gzip.compress(b'{"message":"hi"}'),
        ),
    ),
    (
        "connect",
        "json",
        http("200 OK", [("content-type", "application/json"), ("content-encoding", "br")], b"x"),
    ),
    ("connect", "json", http("404 Not Found", [("content-type", "text/html")], b"<h1>nope</h1>")),
    (
        "connect",
        "json",
        http(
            "400 Bad Request",
            [("content-type", "application/json")],
            b'{"code":"invalid_argument","message":"bad field"}',
        ),
    ),
    ("connect", "json", http("503 Service Unavailable", [("content-type", "application/json")], b"{}")),
    ("grpc-web", "proto", http("200 OK", GW, MSG + envelope(0x80, b"grpc-status: 0\r\n"))),
    ("grpc-web", "proto", http("200 OK", GW, MSG + envelope(0x80, b"grpc-status: 0\r\ngrpc-message: \r\n"))),
    (
        "grpc-web",
        "proto",
        http("200 OK", GW, MSG + envelope(0x80, b"grpc-status: 5\r\ngrpc-message: gone\r\n")),
    ),
    ("grpc-web", "proto", http("200 OK", GW, envelope(0x80, b"grpc-status: 9\r\ngrpc-message: pre\r\n"))),
    ("grpc-web", "proto", http("200 OK", GW, envelope(0x80, b"grpc-status: 0\r\n"))),
    ("grpc-web", "proto", http("200 OK", GW, MSG + MSG + envelope(0x80, b"grpc-status: 0\r\n"))),
    ("grpc-web", "proto", http("200 OK", GW, MSG)),
    ("grpc-web", "proto", http("200 OK", GW, MSG + envelope(0x80, b"grpc-status: 99\r\n"))),
    ("grpc-web", "proto", http("200 OK", GW, MSG + envelope(0x80, b"no colon"))),
    ("grpc-web", "proto", http("200 OK", GW, MSG[:4])),
    ("grpc-web", "proto", http("200 OK", [*GW, ("grpc-status", "7"), ("grpc-message", "denied")], b"")),
    ("grpc-web", "proto", http("200 OK", [("content-type", "application/grpc-web+json")], MSG)),
    (
        "grpc-web",
        "proto",
        http(
            "200 OK",
            [*GW, ("grpc-encoding", "gzip")],
            envelope(1, gzip.compress(b"\x0a\x02hi")) + envelope(0x80, b"grpc-status: 0\r\n"),
        ),
    ),
    ("grpc-web", "proto", http("502 Bad Gateway", [("content-type", "text/html")], b"<h1>502</h1>")),
]


# The code and a part of the message each answer of `CANNED` must get (Connect's and
# PROTOCOL-WEB.md's rules), through the bench path and the general path alike.
EXPECTED: list[tuple[str, str]] = [
    ("OK", ""),
    ("OK", ""),
    ("UNKNOWN", "unexpected content type 'text/html'"),
    ("INTERNAL", "response content type 'application/proto' does not match the json codec"),
    ("OK", ""),
    ("INTERNAL", "unknown compression content-encoding: br"),
    ("UNIMPLEMENTED", "HTTP 404 Not Found: <h1>nope</h1>"),
    ("INVALID_ARGUMENT", "bad field"),
    ("UNAVAILABLE", "HTTP 503"),
    ("OK", ""),
    ("OK", ""),
    ("NOT_FOUND", "gone"),
    ("FAILED_PRECONDITION", "pre"),
    ("UNIMPLEMENTED", "the call ended without a response message"),
    ("UNIMPLEMENTED", "the server sent more than one response message"),
    ("INTERNAL", "response ended without a trailer frame (no grpc-status)"),
    ("UNKNOWN", "grpc-status 99 is out of range"),
    ("INTERNAL", "invalid trailer block line 'no colon'"),
    ("INVALID_ARGUMENT", "truncated envelope"),
    ("PERMISSION_DENIED", "denied"),
    ("INTERNAL", "'application/grpc-web+json' does not match the proto codec"),
    ("OK", ""),
    ("UNAVAILABLE", "HTTP 502 Bad Gateway: <h1>502</h1>"),
]


async def _outcome(invoker: Any) -> tuple[str, str]:
    try:
        await invoker.unary(b"\x0a\x02hi" if invoker.settings.codec == "proto" else b"{}", None)
    except RpcError as exc:
        return exc.code.name, exc.message
    finally:
        await invoker.aclose()
    return "OK", ""


@pytest.mark.parametrize(
    ("protocol", "codec", "response", "expected"),
    [(*row, want) for row, want in zip(CANNED, EXPECTED, strict=True)],
)
def test_each_response_gets_its_verdict_on_both_paths(
    protocol: str, codec: str, response: bytes, expected: tuple[str, str]
) -> None:
    async def main() -> list[tuple[str, str]]:
        async with RawServer(always(response)).running() as server:
            chosen = settings(f"127.0.0.1:{server.port}", protocol, codec=codec)
            async with asyncio.timeout(LIMIT):
                return [
                    await _outcome(ChannelInvoker(chosen, ECHO, Metadata(), None, cheap=True)),
                    await _outcome(ChannelInvoker(chosen, ECHO, Metadata(), None, cheap=False)),
                ]

    for code, message in asyncio.run(main()):
        assert code == expected[0], message
        assert expected[1] in message


def test_request_bytes_carry_prefix_headers_and_metadata() -> None:
    ok = http("200 OK", GW, MSG + envelope(0x80, b"grpc-status: 0\r\n"))

    async def main() -> list[bytes]:
        async with RawServer(always(ok)).running() as server:
            chosen = settings(f"http://127.0.0.1:{server.port}/api", "grpc-web", codec="proto")
            invoker = ChannelInvoker(chosen, ECHO, Metadata([("x-static", "1")]), 2.0)
            try:
                await invoker.unary(b"\x0a\x02hi", None)
                await invoker.unary(b"\x0a\x02hi", Metadata([("x-call", "7")]))
            finally:
                await invoker.aclose()
            assert server.connections == 1
            return server.requests

    first, second = asyncio.run(main())
    head, _, body = first.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /api/rpcctl.test.v1.TestService/Echo HTTP/1.1"
    assert lines[1].startswith(b"host: 127.0.0.1:")
    for header in (b"content-type: application/grpc-web+proto", b"x-grpc-web: 1", b"grpc-timeout: 2",
                   b"x-static: 1", b"content-length: 9"):  # fmt: skip
        assert any(line.startswith(header) for line in lines), header
    assert body == envelope(0, b"\x0a\x02hi")
    assert b"x-call: 7" in second and b"x-static: 1" not in second
