"""Where the server listens: a path prefix, a unix socket, TLS with h2 by ALPN, port 0."""

from __future__ import annotations

import ssl

import grpc
import httpx
import pytest

from rpcctl.errors import UsageError
from rpcctl.schema.registry import Schema
from rpcctl.server.call import HandlerTable
from rpcctl.server.serve import Server, parse_listen
from tests.conftest import Certs
from tests.server.conftest import ServerThread, full_table
from tests.support.cli import run_cli

ECHO = "/rpcctl.test.v1.TestService/Echo"
PREFIX = "/api/v1/pipeline"


@pytest.mark.asyncio
@pytest.mark.parametrize("http2", [False, True], ids=["h1", "h2c"])
async def test_prefix_is_stripped_and_required(schema: Schema, http2: bool):
    async with Server(full_table(schema), prefix=PREFIX, schema=schema) as server:
        assert server.url.endswith(PREFIX)
        async with httpx.AsyncClient(http1=not http2, http2=http2) as client:
            ok = await client.post(server.url + ECHO, json={"message": "p"})
            root = await client.post(server.url.removesuffix(PREFIX) + ECHO, json={"message": "p"})
            web = await client.post(
                server.url + ECHO,
                content=b"\x00\x00\x00\x00\x00",
                headers={"content-type": "application/grpc-web"},
            )
    assert (ok.status_code, ok.json()["message"]) == (200, "p")
    assert root.status_code == 404
    assert web.status_code == 200 and b"grpc-status: 0" in web.content


def test_prefix_with_rpcctl_client(schema: Schema):
    with ServerThread(table=full_table(schema), schema=schema, prefix="api/v1/pipeline/") as server:
        res = run_cli(
            "call", server.url, "Echo", "-d", '{"message": "x"}', "--protocol", "connect", "--codec", "proto"
        )
    assert res.exit_code == 0, res.stderr
    assert res.json["message"] == "x"


@pytest.mark.asyncio
async def test_unix_socket(schema: Schema, tmp_path):
    path = tmp_path / "rpc.sock"
    async with Server(full_table(schema), listen=f"unix:{path}", schema=schema) as server:
        assert server.url == f"unix://{path}"
        transport = httpx.AsyncHTTPTransport(uds=str(path))
        async with httpx.AsyncClient(transport=transport) as client:
            res = await client.post("http://localhost" + ECHO, json={"message": "u"})
        assert (res.status_code, res.json()["message"]) == (200, "u")
    assert not path.exists()


def test_unix_socket_with_grpcio(schema: Schema, tmp_path):
    path = tmp_path / "g.sock"
    cls = schema.message_class(schema.pool.FindMessageTypeByName("rpcctl.test.v1.EchoRequest"))
    with (
        ServerThread(table=full_table(schema), listen=f"unix://{path}", schema=schema),
        grpc.insecure_channel(f"unix://{path}") as channel,
    ):
        raw = channel.unary_unary(ECHO)(cls(message="g").SerializeToString(), timeout=10)
    assert b"g" in raw


@pytest.mark.asyncio
async def test_tls_offers_h2_and_http1(schema: Schema, certs: Certs):
    context = ssl.create_default_context(cafile=str(certs.cert))
    async with Server(full_table(schema), schema=schema, certfile=certs.cert, keyfile=certs.key) as server:
        assert server.url.startswith("https://")
        for http2 in (False, True):
            async with httpx.AsyncClient(verify=context, http1=not http2, http2=http2) as client:
                res = await client.post(server.url + ECHO, json={"message": "t"})
            assert res.status_code == 200
            assert res.http_version == ("HTTP/2" if http2 else "HTTP/1.1")


def test_tls_with_grpcio(schema: Schema, certs: Certs):
    cls = schema.message_class(schema.pool.FindMessageTypeByName("rpcctl.test.v1.EchoRequest"))
    credentials = grpc.ssl_channel_credentials(certs.cert.read_bytes())
    with (
        ServerThread(
            table=full_table(schema), schema=schema, certfile=certs.cert, keyfile=certs.key
        ) as server,
        grpc.secure_channel(f"localhost:{server.port}", credentials) as channel,
    ):
        raw = channel.unary_unary(ECHO)(cls(message="tls").SerializeToString(), timeout=10)
    assert b"tls" in raw


def test_parse_listen():
    assert parse_listen("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_listen(":8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:9") == ("::1", 9)
    assert parse_listen("unix:/tmp/x.sock") == "/tmp/x.sock"
    assert parse_listen("unix:///tmp/x.sock") == "/tmp/x.sock"
    for bad in ("host:port", "h:70000", "unix:"):
        with pytest.raises(UsageError):
            parse_listen(bad)


@pytest.mark.asyncio
async def test_port_in_use_is_a_usage_error(schema: Schema):
    async with Server(full_table(schema)) as first:
        with pytest.raises(UsageError, match="cannot listen"):
            await Server(full_table(schema), listen=f"127.0.0.1:{first.port}").start()


def test_tls_needs_both_files(certs: Certs):
    with pytest.raises(UsageError):
        Server(HandlerTable(), certfile=certs.cert)
