"""TLS: verification, --cacert, --insecure, client certificates, ALPN h2 vs http/1.1."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from rpcctl.call import CallOptions, MethodInfo
from rpcctl.client import RpcChannel
from rpcctl.errors import TransportError
from rpcctl.schema.registry import CallKind
from rpcctl.transport.target import ChannelSettings, Target, TlsSettings
from rpcctl.wire.envelope import encode_envelope
from rpcctl.wire_call import WireCall
from tests.transport.servers import H2Exchange, H2Server, Http1Server, Request, response

UNARY = MethodInfo("/t.v1.S/Unary", CallKind.UNARY)
CHAT = MethodInfo("/t.v1.S/Chat", CallKind.BIDI)
JSON_OK = [("content-type", "application/json")]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    out = tmp_path_factory.mktemp("tls")
    cert, key = out / "cert.pem", out / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_context(certs: tuple[Path, Path], alpn: list[str], client_ca: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certs)
    context.set_alpn_protocols(alpn)
    if client_ca:
        context.load_verify_locations(certs[0])
        context.verify_mode = ssl.CERT_REQUIRED
    return context


async def ok(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(response("200 OK", JSON_OK, b"{}"))


async def call(
    port: int, tls: TlsSettings, method: MethodInfo = UNARY, **kw: object
) -> tuple[bytes, str | None]:
    channel = RpcChannel(ChannelSettings(Target.parse(f"https://127.0.0.1:{port}"), tls=tls, **kw))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(10):
            c = await channel.open(method, CallOptions())
            await c.send(b"{}")
            await c.close_send()
            first = await c.receive()
            assert isinstance(c, WireCall)
            return first or b"", c.http_version
    finally:
        await channel.aclose()


@pytest.mark.asyncio
async def test_unverified_certificate_is_refused(certs: tuple[Path, Path]) -> None:
    server = Http1Server(ok)
    async with server.running(ssl=server_context(certs, ["http/1.1"])):
        with pytest.raises(TransportError, match=r"TLS handshake with 127\.0\.0\.1:\d+ failed"):
            await call(server.port, TlsSettings())


@pytest.mark.asyncio
async def test_cacert_and_insecure_over_http1(certs: tuple[Path, Path]) -> None:
    server = Http1Server(ok)
    async with server.running(ssl=server_context(certs, ["http/1.1"])):
        assert await call(server.port, TlsSettings(cacert=certs[0])) == (b"{}", "HTTP/1.1")
        assert await call(server.port, TlsSettings(insecure=True)) == (b"{}", "HTTP/1.1")


@pytest.mark.asyncio
async def test_auto_bidi_over_tls_falls_back_when_alpn_picks_http1(certs: tuple[Path, Path]) -> None:
    async def stream_ok(request: Request, writer: asyncio.StreamWriter) -> None:
        body = request.body + encode_envelope(b"{}", 0x02)
        writer.write(response("200 OK", [("content-type", "application/connect+json")], body))

    server = Http1Server(stream_ok)
    async with server.running(ssl=server_context(certs, ["http/1.1"])):
        channel_result = await call(server.port, TlsSettings(cacert=certs[0]), CHAT)
        assert channel_result == (b"{}", "HTTP/1.1")


async def h2_ok(exchange: H2Exchange) -> None:
    while await exchange.data.get() is not None:
        pass
    await exchange.respond(JSON_OK)
    await exchange.send(b"{}", end=True)


@pytest.mark.asyncio
async def test_alpn_h2_with_client_certificate_and_servername(certs: tuple[Path, Path]) -> None:
    server = H2Server(h2_ok)
    async with server.running(ssl=server_context(certs, ["h2"], client_ca=True)):
        tls = TlsSettings(cacert=certs[0], cert=certs[0], key=certs[1], servername="localhost")
        assert await call(server.port, tls) == (b"{}", "HTTP/2")
