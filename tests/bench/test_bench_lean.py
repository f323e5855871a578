"""Bench's lean unary path for Connect and gRPC-Web over HTTP/1.1 (`LeanHttpInvoker`).

Against rpcctl's own server: the same report counts as the `Channel` path. Against scripted
raw responses: the same error code and message as `ChannelInvoker` for each.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rpcctl.bench.invoker import ChannelInvoker, make_invoker
from rpcctl.bench.lean_invoker import LEAN_ENV, LeanHttpInvoker
from rpcctl.call import MethodInfo
from rpcctl.cli.options import channel_settings
from rpcctl.errors import RpcError
from rpcctl.schema.registry import CallKind
from rpcctl.wire.metadata import Metadata
from tests.bench.conftest import SCHEMA
from tests.bench.helpers import bench
from tests.bench.raw_http import RawServer, always

ECHO = MethodInfo("/rpcctl.test.v1.TestService/Echo", CallKind.UNARY)
HTTP_PROTOCOLS = [("connect", "json"), ("connect", "proto"), ("grpc-web", "proto")]


@pytest.fixture(scope="module")
def rpcctl_server() -> Iterator[str]:
    """rpcctl's server with the test service, in a thread of its own; its URL."""
    from rpcctl.server.builtin import add_builtin_services
    from rpcctl.server.serve import Server
    from tests.server.service import make_table
    from tests.support.schema import compile_test_schema

    schema = compile_test_schema()
    table = make_table(schema)
    add_builtin_services(table, schema)
    loop = asyncio.new_event_loop()
    server = Server(table, listen="127.0.0.1:0", schema=schema)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield server.url
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def run_json(url: str, protocol: str, codec: str, *args: str, expect: int = 0) -> dict[str, Any]:
    result = bench(
        url, *args, "--protocol", protocol, "--codec", codec, "--workers", "1", *SCHEMA, "-O", "json",
        grpc_defaults=False,
    )  # fmt: skip
    assert result.exit_code == expect, result.stderr
    return dict(json.loads(result.stdout)["runs"][0])


def settings(target: str, protocol: str = "connect", **options: Any) -> Any:
    return channel_settings(target, protocol=protocol, **options)


def test_the_lean_path_is_taken_only_where_it_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    md = Metadata()
    for protocol in ("connect", "grpc-web"):
        assert isinstance(make_invoker(settings("http://h:1", protocol), ECHO, md, None), LeanHttpInvoker)
        assert isinstance(make_invoker(settings("unix:///tmp/s", protocol), ECHO, md, None), LeanHttpInvoker)
        tls_h1 = settings("https://h:1", protocol, http1=True)
        assert isinstance(make_invoker(tls_h1, ECHO, md, None), LeanHttpInvoker)
    streaming = MethodInfo("/rpcctl.test.v1.TestService/Count", CallKind.SERVER_STREAM)
    others = [
        (settings("https://h:1"), ECHO),  # ALPN may pick HTTP/2
        (settings("http://h:1", use_get=True), MethodInfo(ECHO.path, CallKind.UNARY, True)),
        (settings("http://h:1", "grpc-web", grpc_web_text=True), ECHO),
        (settings("http://h:1"), streaming),
    ]
    for chosen, method in others:
        assert isinstance(make_invoker(chosen, method, md, None), ChannelInvoker), chosen
    monkeypatch.setenv(LEAN_ENV, "0")
    assert isinstance(make_invoker(settings("http://h:1"), ECHO, md, None), ChannelInvoker)


@pytest.mark.parametrize(("protocol", "codec"), HTTP_PROTOCOLS)
def test_unary_ok_over_http1(rpcctl_server: str, protocol: str, codec: str) -> None:
    run = run_json(rpcctl_server, protocol, codec, "Echo", "-n", "40", "-c", "4", "--http1",
                   "-d", '{"message": "m{{seq}}"}', "-H", "x-seq: {{seq}}")  # fmt: skip
    assert run["stats"]["codes"] == {"OK": 40}
    assert run["stats"]["count"] == 40


@pytest.mark.parametrize(("protocol", "codec"), HTTP_PROTOCOLS)
def test_errors_counted_by_code_as_the_channel_path_does(
    rpcctl_server: str, protocol: str, codec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fail.jsonl"
    path.write_text('{"code": 5, "message": "gone"}\n{"code": 7, "message": "no"}\n{"code": 14}\n')
    args = ("Fail", "-n", "12", "-c", "2", "--data-file", str(path))
    lean = run_json(rpcctl_server, protocol, codec, *args, expect=1)["stats"]
    assert lean["codes"] == {"NOT_FOUND": 4, "PERMISSION_DENIED": 4, "UNAVAILABLE": 4}
    assert lean["messages"]["NOT_FOUND: gone"] == 4
    monkeypatch.setenv(LEAN_ENV, "0")
    channel = run_json(rpcctl_server, protocol, codec, *args, expect=1)["stats"]
    assert lean["codes"] == channel["codes"]
    assert lean["messages"] == channel["messages"]


def test_timeout_over_the_lean_path(tmp_path: Path) -> None:
    async def main() -> None:
        async def never(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
            await asyncio.sleep(5)
            return False

        async with RawServer(never).running() as server:
            invoker = make_invoker(settings(f"127.0.0.1:{server.port}"), ECHO, Metadata(), 0.2)
            assert isinstance(invoker, LeanHttpInvoker)
            try:
                with pytest.raises(RpcError) as caught:
                    await invoker.unary(b"{}", None)
            finally:
                await invoker.aclose()
            assert caught.value.code.name == "DEADLINE_EXCEEDED"
            assert b"connect-timeout-ms: 200" in server.requests[0]

    asyncio.run(main())


def envelope(flags: int, data: bytes) -> bytes:
    return bytes([flags]) + len(data).to_bytes(4, "big") + data


def http(status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), f"content-length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


GW = [("content-type", "application/grpc-web+proto")]
MSG = envelope(0, b"\x0a\x02hi")
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


async def _outcome(invoker: Any) -> tuple[str, str]:
    try:
        await invoker.unary(b"\x0a\x02hi" if invoker.settings.codec == "proto" else b"{}", None)
    except RpcError as exc:
        return exc.code.name, exc.message
    finally:
        await invoker.aclose()
    return "OK", ""


@pytest.mark.parametrize(("protocol", "codec", "response"), CANNED)
def test_each_response_decodes_as_the_channel_path_does(protocol: str, codec: str, response: bytes) -> None:
    async def main() -> tuple[tuple[str, str], tuple[str, str]]:
        async with RawServer(always(response)).running() as server:
            chosen = settings(f"127.0.0.1:{server.port}", protocol, codec=codec)
            lean = LeanHttpInvoker(chosen, ECHO, Metadata(), None)
            channel = ChannelInvoker(chosen, ECHO, Metadata(), None)
            async with asyncio.timeout(10):
                return await _outcome(lean), await _outcome(channel)

    lean, channel = asyncio.run(main())
    assert lean == channel


def test_request_bytes_carry_prefix_headers_and_metadata() -> None:
    ok = http("200 OK", GW, MSG + envelope(0x80, b"grpc-status: 0\r\n"))

    async def main() -> list[bytes]:
        async with RawServer(always(ok)).running() as server:
            chosen = settings(f"http://127.0.0.1:{server.port}/api", "grpc-web", codec="proto")
            invoker = LeanHttpInvoker(chosen, ECHO, Metadata([("x-static", "1")]), 2.0)
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
