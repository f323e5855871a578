"""Endpoint failures: each one a `TransportError` naming the address (and the proxy), never a hang.

Real peers on loopback: a refusing CONNECT proxy, a closed port, silent and scripted peers, a
plaintext server behind ``https://``, a TLS server whose certificate is not trusted.
"""

from __future__ import annotations

import asyncio
import ssl

import pytest

from rpcctl.errors import TransportError
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.proxy import Proxy, parse_proxy
from rpcctl.transport.target import ChannelSettings, Target
from tests.conftest import Certs
from tests.support.connect_proxy import ConnectProxy
from tests.transport.peers import GreetingServer, Recorder, ScriptedPeer

SECRET = "s3cr3t-pw"


def client_context(cafile: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["h2"])
    return context


def server_context(certs: Certs) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.cert, certs.key)
    return context


async def fails(endpoint: Endpoint) -> str:
    """The message of the `TransportError` that connecting raises; the factory is never called."""
    made: list[Recorder] = []

    def factory() -> Recorder:
        made.append(Recorder())
        return made[-1]

    with pytest.raises(TransportError) as caught:
        await endpoint.connect(factory)
    assert made == []
    assert caught.value.__traceback__ is not None
    return str(caught.value)


@pytest.mark.asyncio
async def test_proxy_refusal_names_proxy_target_and_status() -> None:
    async with ConnectProxy(refuse=403).running() as proxy:
        endpoint = Endpoint.for_settings(
            ChannelSettings(Target.parse("https://api.test:8443")),
            client_context(),
            environ={"HTTPS_PROXY": f"http://bob:{SECRET}@127.0.0.1:{proxy.port}"},
        )
        message = await fails(endpoint)
    assert message == f"proxy 127.0.0.1:{proxy.port} refused CONNECT to api.test:8443: 403 Forbidden"
    assert proxy.tunnels == 0


@pytest.mark.asyncio
async def test_wrong_credentials_are_sent_but_never_shown() -> None:
    async with ConnectProxy(credentials="bob:right").running() as proxy:
        endpoint = Endpoint(
            "api.test", 80, proxy=parse_proxy(f"bob:{SECRET}@127.0.0.1:{proxy.port}", "HTTP_PROXY")
        )
        message = await fails(endpoint)
    assert message.startswith(f"proxy 127.0.0.1:{proxy.port} refused CONNECT to api.test:80: 407 ")
    assert "credentials in HTTP_PROXY were not accepted" in message
    assert SECRET not in message and "Ym9i" not in message  # neither plain nor base64
    assert proxy.requests[0].headers["proxy-authorization"].startswith("Basic ")


@pytest.mark.asyncio
async def test_missing_credentials_hint() -> None:
    async with ConnectProxy(credentials="bob:right").running() as proxy:
        endpoint = Endpoint("api.test", 80, proxy=parse_proxy(proxy.url, "HTTPS_PROXY"))
        message = await fails(endpoint)
    assert "407 Proxy Authentication Required (put user:password@ in HTTPS_PROXY)" in message


@pytest.mark.asyncio
async def test_unreachable_proxy_is_named(closed_port: int) -> None:
    proxy = parse_proxy(f"http://bob:{SECRET}@127.0.0.1:{closed_port}", "HTTPS_PROXY")
    endpoint = Endpoint("api.test", 443, ssl_context=client_context(), proxy=proxy, connect_timeout=3)
    message = await fails(endpoint)
    assert message == f"cannot connect to proxy 127.0.0.1:{closed_port} (HTTPS_PROXY): connection refused"
    assert SECRET not in message


@pytest.mark.asyncio
async def test_proxy_that_cannot_reach_the_target(closed_port: int) -> None:
    async with ConnectProxy().running() as proxy:
        endpoint = Endpoint("127.0.0.1", closed_port, proxy=Proxy("127.0.0.1", proxy.port))
        message = await fails(endpoint)
    assert (
        message == f"proxy 127.0.0.1:{proxy.port} refused CONNECT to 127.0.0.1:{closed_port}: 502 Bad Gateway"
    )


@pytest.mark.asyncio
async def test_silent_proxy_times_out_within_connect_timeout() -> None:
    async with ScriptedPeer(None).running() as peer:
        endpoint = Endpoint("api.test", 443, proxy=Proxy("127.0.0.1", peer.port), connect_timeout=0.3)
        message = await fails(endpoint)
    assert message == f"proxy 127.0.0.1:{peer.port} did not answer CONNECT to api.test:443 in time"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b"", "closed the connection instead of answering CONNECT to api.test:443"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "answered CONNECT to api.test:443 with something not HTTP/1.x"),
        (b"HTTP/1.1 200 OK\r\n" + b"x: y\r\n" * 4000, "sent an answer to CONNECT longer than 16384 bytes"),
        (b"HTTP/1.1 100 Continue\r\n\r\n" * 20, "sent too many interim answers to CONNECT to api.test:443"),
    ],
    ids=["closes", "not-http", "huge-head", "endless-1xx"],
)
async def test_misbehaving_proxies(answer: bytes, expected: str) -> None:
    async with ScriptedPeer(answer).running() as peer:
        endpoint = Endpoint("api.test", 443, proxy=Proxy("127.0.0.1", peer.port), connect_timeout=3)
        message = await fails(endpoint)
    assert message == f"proxy 127.0.0.1:{peer.port} {expected}"


@pytest.mark.asyncio
async def test_direct_connection_refused(closed_port: int) -> None:
    endpoint = Endpoint("127.0.0.1", closed_port, connect_timeout=3)
    assert await fails(endpoint) == f"cannot connect to 127.0.0.1:{closed_port}: connection refused"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "answer",
    [b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n", b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"],
    ids=["http1-400", "h2-settings"],
)
async def test_https_to_a_plaintext_server_says_not_tls(answer: bytes) -> None:
    async with ScriptedPeer(answer).running() as peer:
        endpoint = Endpoint("127.0.0.1", peer.port, ssl_context=client_context(), connect_timeout=3)
        message = await fails(endpoint)
    assert message == f"cannot connect to 127.0.0.1:{peer.port}: the server is not TLS: use http://"
    assert peer.received.startswith(b"\x16\x03")  # it did get a TLS ClientHello


@pytest.mark.asyncio
async def test_https_to_a_greeting_plaintext_server_says_not_tls() -> None:
    async with GreetingServer().running() as server:
        endpoint = Endpoint("127.0.0.1", server.port, ssl_context=client_context(), connect_timeout=3)
        message = await fails(endpoint)
    assert message == f"cannot connect to 127.0.0.1:{server.port}: the server is not TLS: use http://"


@pytest.mark.asyncio
async def test_https_to_a_plaintext_server_through_a_proxy_says_not_tls() -> None:
    async with GreetingServer().running() as server, ConnectProxy().running() as proxy:
        endpoint = Endpoint(
            "127.0.0.1", server.port, ssl_context=client_context(), proxy=Proxy("127.0.0.1", proxy.port)
        )
        message = await fails(endpoint)
    assert message == f"cannot connect to 127.0.0.1:{server.port}: the server is not TLS: use http://"
    assert "--cacert" not in message


@pytest.mark.asyncio
async def test_https_to_a_server_that_hangs_up_hints_at_http() -> None:
    async with ScriptedPeer(b"").running() as peer:
        endpoint = Endpoint("127.0.0.1", peer.port, ssl_context=client_context(), connect_timeout=3)
        message = await fails(endpoint)
    assert message.startswith(f"cannot connect to 127.0.0.1:{peer.port}: the server closed the connection")
    assert "use http://" in message and "--cacert" not in message


@pytest.mark.asyncio
async def test_untrusted_certificate_keeps_the_cacert_hint(certs: Certs) -> None:
    async with GreetingServer().running(server_context(certs)) as server:
        endpoint = Endpoint("127.0.0.1", server.port, ssl_context=client_context(), connect_timeout=3)
        message = await fails(endpoint)
    assert message.startswith(f"TLS handshake with 127.0.0.1:{server.port} failed: ")
    assert "certificate" in message and "--cacert" in message and "not TLS" not in message


@pytest.mark.asyncio
async def test_untrusted_certificate_through_a_proxy(certs: Certs) -> None:
    async with GreetingServer().running(server_context(certs)) as server, ConnectProxy().running() as proxy:
        endpoint = Endpoint(
            "localhost", server.port, ssl_context=client_context(), proxy=Proxy("127.0.0.1", proxy.port)
        )
        message = await fails(endpoint)
    assert message.startswith(f"TLS handshake with localhost:{server.port} failed: ")
    assert "--cacert" in message
    assert proxy.tunnels == 1


@pytest.mark.asyncio
async def test_silent_tls_server_times_out() -> None:
    async with ScriptedPeer(None).running() as peer:
        endpoint = Endpoint("127.0.0.1", peer.port, ssl_context=client_context(), connect_timeout=0.3)
        message = await fails(endpoint)
    assert message == f"cannot connect to 127.0.0.1:{peer.port}: TLS handshake timed out"


@pytest.mark.asyncio
async def test_cancelled_connect_leaves_nothing_open() -> None:
    async with ScriptedPeer(None).running() as peer:
        endpoint = Endpoint("api.test", 443, proxy=Proxy("127.0.0.1", peer.port), connect_timeout=30)
        task = asyncio.ensure_future(endpoint.connect(Recorder))
        async with asyncio.timeout(5):
            while not peer.received:
                await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # filterwarnings=error turns an unclosed transport into a failure of this test.


@pytest.mark.asyncio
async def test_invalid_host_name_is_a_transport_error() -> None:
    message = await fails(Endpoint("bad..name", 80, connect_timeout=3))
    assert message.startswith("cannot connect to bad..name:80: invalid host name")
