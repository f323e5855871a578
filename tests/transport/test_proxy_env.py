"""Proxies from the environment: which one is chosen, NO_PROXY, and CONNECT tunnels that work.

Selection is tested on explicit mappings (never the process environment); tunnels against a
real CONNECT proxy (`tests.support.connect_proxy`) in front of real plaintext and TLS servers.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from pathlib import Path

import pytest

from rpcctl.errors import UsageError
from rpcctl.transport.endpoint import Endpoint
from rpcctl.transport.exchange import ExchangeTimings
from rpcctl.transport.lean_h1 import H1Pool, build_request
from rpcctl.transport.proxy import Proxy, parse_proxy, redact
from rpcctl.transport.proxy_env import bypasses, proxy_for
from rpcctl.transport.target import ChannelSettings, Target, TlsSettings
from tests.bench.raw_http import RawServer, always, ok
from tests.conftest import Certs
from tests.support.connect_proxy import ConnectProxy
from tests.transport.peers import GREETING, LIMIT, GreetingServer, Recorder, ScriptedPeer, close

# --- which proxy ---------------------------------------------------------------------------


def test_https_proxy_for_tls_and_http_proxy_for_plaintext() -> None:
    env = {"HTTPS_PROXY": "secure.example:3128", "HTTP_PROXY": "http://plain.example:8080"}
    assert proxy_for("api.test", 443, tls=True, environ=env) == Proxy(
        "secure.example", 3128, variable="HTTPS_PROXY"
    )
    assert proxy_for("api.test", 80, tls=False, environ=env) == Proxy(
        "plain.example", 8080, variable="HTTP_PROXY"
    )
    assert proxy_for("api.test", 443, tls=True, environ={"HTTP_PROXY": "p:1"}) is None
    assert proxy_for("api.test", 80, tls=False, environ={"HTTPS_PROXY": "p:1"}) is None
    assert proxy_for("api.test", 80, tls=False, environ={}) is None


def test_lower_case_wins_and_empty_means_unset() -> None:
    env = {"https_proxy": "lower:1", "HTTPS_PROXY": "upper:2"}
    chosen = proxy_for("h", 443, tls=True, environ=env)
    assert chosen is not None and (chosen.host, chosen.port, chosen.variable) == ("lower", 1, "https_proxy")
    chosen = proxy_for("h", 443, tls=True, environ={"https_proxy": " ", "HTTPS_PROXY": "upper:2"})
    assert chosen is not None and chosen.host == "upper"


def test_proxy_url_forms() -> None:
    assert parse_proxy("http://proxy.example") == Proxy("proxy.example", 80)
    assert parse_proxy("HTTP://[::1]:3128/") == Proxy("::1", 3128)
    assert parse_proxy("[::1]:3128").address == "[::1]:3128"
    with_user = parse_proxy("http://al%40ice:s%3Acret@proxy:8080")
    assert with_user.authorization == "Basic " + base64.b64encode(b"al@ice:s:cret").decode()
    assert "s%3Acret" not in repr(with_user) and with_user.authorization not in repr(with_user)
    assert parse_proxy("bob@proxy:1").authorization == "Basic " + base64.b64encode(b"bob:").decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://user:secret@proxy:443", "https:// proxies"),
        ("socks5://user:secret@proxy:1080", "only http://"),
        ("http://user:secret@proxy:notaport", "invalid proxy URL"),
        ("http://user:secret@:80", "no host"),
    ],
)
def test_bad_proxy_urls_are_usage_errors_without_the_password(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        proxy_for("h", 443, tls=True, environ={"HTTPS_PROXY": text})
    assert "secret" not in str(caught.value)
    assert "HTTPS_PROXY" in str(caught.value)


def test_redact() -> None:
    assert redact("http://u:p@h:1") == "http://***@h:1"
    assert redact("u:p@h:1") == "***@h:1"
    assert redact("h:1") == "h:1"


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "bypassed"),
    [
        ("anything", 1, "*", True),
        ("api.example.com", 443, "example.com", True),
        ("example.com", 443, "example.com", True),
        ("api.example.com", 443, ".example.com", True),
        ("example.com", 443, ".example.com", True),
        ("api.example.com", 443, "*.example.com", True),
        ("badexample.com", 443, "example.com", False),
        ("example.com.evil", 443, "example.com", False),
        ("API.Example.COM", 443, " other.org , example.com ", True),
        ("10.1.2.3", 80, "10.0.0.0/8", True),
        ("11.1.2.3", 80, "10.0.0.0/8", False),
        ("10.1.2.3", 80, "10.1.2.3", True),
        ("127.0.0.1", 8080, "127.0.0.1:8080", True),
        ("127.0.0.1", 8081, "127.0.0.1:8080", False),
        ("example.com", 443, "example.com:443", True),
        ("example.com", 80, "example.com:443", False),
        ("::1", 80, "::1", True),
        ("::1", 80, "[::1]:80", True),
        ("::1", 81, "[::1]:80", False),
        ("2001:db8::5", 80, "2001:db8::/32", True),
        ("localhost", 80, "127.0.0.1", False),  # names are not resolved
        ("example.com", 80, "", False),
        ("example.com", 80, ",, ,", False),
        ("example.com", 80, "not/a/cidr", False),
    ],
)
def test_no_proxy_matching(host: str, port: int, no_proxy: str, bypassed: bool) -> None:
    assert bypasses(host, port, no_proxy) is bypassed


def test_no_proxy_upper_and_lower_case() -> None:
    env = {"HTTPS_PROXY": "p:1", "NO_PROXY": "skip.test"}
    assert proxy_for("skip.test", 443, tls=True, environ=env) is None
    env = {"HTTPS_PROXY": "p:1", "no_proxy": "skip.test", "NO_PROXY": "other.test"}
    assert proxy_for("skip.test", 443, tls=True, environ=env) is None
    assert proxy_for("other.test", 443, tls=True, environ=env) is not None


def test_for_settings_matches_the_target_and_reads_the_environment() -> None:
    settings = ChannelSettings(
        Target.parse("https://[::1]:8443/prefix"),
        tls=TlsSettings(servername="api.test"),
        connect_timeout=3.5,
    )
    context = ssl.create_default_context()
    endpoint = Endpoint.for_settings(settings, context, environ={"https_proxy": "http://u:p@proxy:3128"})
    assert (endpoint.host, endpoint.port, endpoint.unix_path) == ("::1", 8443, None)
    assert endpoint.address == "[::1]:8443"
    assert endpoint.ssl_context is context and endpoint.sni == "api.test"
    assert endpoint.connect_timeout == 3.5
    assert endpoint.proxy is not None and endpoint.proxy.address == "proxy:3128"
    plain = Endpoint.for_settings(ChannelSettings(Target.parse("h:80")), None, environ={"HTTPS_PROXY": "p:1"})
    assert plain.proxy is None and plain.connect_timeout > 0 and plain.sni is None
    unix = Endpoint.for_settings(
        ChannelSettings(Target.parse("unix:///tmp/x.sock")), None, environ={"HTTP_PROXY": "p:1"}
    )
    assert unix.proxy is None and unix.address == "unix:/tmp/x.sock"


# --- tunnels -----------------------------------------------------------------------------------


def tls_contexts(certs: Certs, alpn: list[str]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certs.cert, certs.key)
    server.set_alpn_protocols(alpn)
    client = ssl.create_default_context(cafile=str(certs.cert))
    client.set_alpn_protocols(alpn)
    return server, client


async def talk(endpoint: Endpoint, timings: ExchangeTimings | None = None) -> Recorder:
    """Connect, read the greeting, have one line echoed, close; the recorder for inspection."""
    transport, recorder = await endpoint.connect(Recorder, timings)
    assert await recorder.received(len(GREETING)) == GREETING
    transport.write(b"ping\n")
    assert await recorder.received(len(GREETING) + 5) == GREETING + b"ping\n"
    assert recorder.made == [transport]
    await close(transport, recorder)
    return recorder


@pytest.mark.asyncio
async def test_plaintext_through_proxy_opens_one_tunnel_per_connection() -> None:
    async with GreetingServer().running() as server, ConnectProxy().running() as proxy:
        env = {"HTTP_PROXY": proxy.url, "HTTPS_PROXY": "http://127.0.0.1:1"}
        endpoint = Endpoint.for_settings(
            ChannelSettings(Target.parse(f"127.0.0.1:{server.port}")), None, environ=env
        )
        timings = ExchangeTimings()
        await talk(endpoint, timings)
        await talk(endpoint)
    assert proxy.tunnels == 2 and server.connections == 2
    assert [r.target for r in proxy.requests] == [f"127.0.0.1:{server.port}"] * 2
    assert proxy.requests[0].headers["host"] == f"127.0.0.1:{server.port}"
    assert "proxy-authorization" not in proxy.requests[0].headers
    assert timings.connect_start is not None and timings.connected is not None
    assert timings.tls_done is None


@pytest.mark.asyncio
async def test_tls_through_proxy_keeps_alpn_and_sends_credentials(certs: Certs) -> None:
    server_context, client_context = tls_contexts(certs, ["h2"])
    async with (
        GreetingServer().running(server_context) as server,
        ConnectProxy(credentials="user:pa ss").running() as proxy,
    ):
        env = {
            "HTTPS_PROXY": f"http://user:pa%20ss@127.0.0.1:{proxy.port}",
            "HTTP_PROXY": "http://127.0.0.1:1",
        }
        settings = ChannelSettings(Target.parse(f"https://localhost:{server.port}"))
        endpoint = Endpoint.for_settings(settings, client_context, environ=env)
        timings = ExchangeTimings()
        transport, recorder = await endpoint.connect(Recorder, timings)
        try:
            assert await recorder.received(len(GREETING)) == GREETING
            assert recorder.made == [transport]
            ssl_object = transport.get_extra_info("ssl_object")
            assert ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2"
        finally:
            await close(transport, recorder)
    assert proxy.tunnels == 1
    assert proxy.requests[0].target == f"localhost:{server.port}"
    expected = "Basic " + base64.b64encode(b"user:pa ss").decode()
    assert proxy.requests[0].headers["proxy-authorization"] == expected
    assert None not in (timings.connect_start, timings.connected, timings.tls_done)


@pytest.mark.asyncio
async def test_direct_tls_records_tls_done_and_alpn(certs: Certs) -> None:
    server_context, client_context = tls_contexts(certs, ["h2", "http/1.1"])
    async with GreetingServer().running(server_context) as server:
        endpoint = Endpoint.for_settings(
            ChannelSettings(Target.parse(f"https://127.0.0.1:{server.port}")), client_context, environ={}
        )
        timings = ExchangeTimings()
        await talk(endpoint, timings)
    assert None not in (timings.connect_start, timings.connected, timings.tls_done)


@pytest.mark.asyncio
async def test_no_proxy_bypasses_the_proxy() -> None:
    async with GreetingServer().running() as server, ConnectProxy().running() as proxy:
        env = {"http_proxy": proxy.url, "no_proxy": "example.com, 127.0.0.0/8"}
        endpoint = Endpoint.for_settings(
            ChannelSettings(Target.parse(f"127.0.0.1:{server.port}")), None, environ=env
        )
        assert endpoint.proxy is None
        await talk(endpoint)
    assert proxy.tunnels == 0 and proxy.requests == [] and server.connections == 1


@pytest.mark.asyncio
async def test_unix_targets_ignore_the_proxy(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    async with GreetingServer().running(unix_path=path) as server, ConnectProxy().running() as proxy:
        env = {"HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url}
        endpoint = Endpoint.for_settings(ChannelSettings(Target.parse(f"unix://{path}")), None, environ=env)
        await talk(endpoint)
    assert proxy.tunnels == 0 and server.connections == 1


@pytest.mark.asyncio
async def test_bytes_right_after_the_connect_answer_reach_the_protocol() -> None:
    # One write carries the proxy's 200 and the server's first bytes.
    answer = b"HTTP/1.1 200 Connection established\r\nVia: test\r\n\r\n" + b"SETTINGS-ish"
    async with ScriptedPeer(answer).running() as peer:
        endpoint = Endpoint("origin.test", 50051, proxy=Proxy("127.0.0.1", peer.port))
        transport, recorder = await endpoint.connect(Recorder)
        try:
            assert await recorder.received(12) == b"SETTINGS-ish"
            assert recorder.made == [transport]
        finally:
            await close(transport, recorder)
    assert peer.received.startswith(b"CONNECT origin.test:50051 HTTP/1.1\r\nHost: origin.test:50051\r\n\r\n")


@pytest.mark.asyncio
async def test_interim_answers_are_skipped() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nX"
    async with ScriptedPeer(answer).running() as peer:
        endpoint = Endpoint("origin.test", 1, proxy=Proxy("127.0.0.1", peer.port))
        transport, recorder = await endpoint.connect(Recorder)
        try:
            assert await recorder.received(1) == b"X"
        finally:
            await close(transport, recorder)


@pytest.mark.asyncio
async def test_lean_http1_client_through_the_proxy() -> None:
    async with RawServer(always(ok())).running() as server, ConnectProxy().running() as proxy:
        env = {"HTTP_PROXY": proxy.url}
        endpoint = Endpoint.for_settings(
            ChannelSettings(Target.parse(f"127.0.0.1:{server.port}")), None, environ=env
        )
        pool = H1Pool(endpoint)
        request = build_request("POST", "/svc/M", "127.0.0.1", [], b"{}")
        try:
            async with asyncio.timeout(LIMIT):
                for _ in range(2):
                    response = await pool.request(request)
                    assert (response.status, response.body) == (200, b"hello")
        finally:
            await pool.aclose()
    assert proxy.tunnels == 1 and server.connections == 1


class SmallBuffers(asyncio.BufferedProtocol):
    """A buffered protocol with a 4-byte buffer, so replayed bytes arrive in several pieces."""

    def __init__(self) -> None:
        self.buffer = bytearray(4)
        self.data = bytearray()
        self.made = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made += 1

    def get_buffer(self, sizehint: int) -> bytearray:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data += self.buffer[:nbytes]


@pytest.mark.asyncio
async def test_early_bytes_reach_a_buffered_protocol_whole() -> None:
    answer = b"HTTP/1.1 200 OK\r\n\r\n" + b"0123456789"
    async with ScriptedPeer(answer).running() as peer:
        endpoint = Endpoint("origin.test", 1, proxy=Proxy("127.0.0.1", peer.port))
        transport, protocol = await endpoint.connect(SmallBuffers)
        try:
            async with asyncio.timeout(LIMIT):
                while len(protocol.data) < 10:
                    await asyncio.sleep(0.01)
        finally:
            transport.close()
            await asyncio.sleep(0)
    assert protocol.made == 1 and protocol.data == b"0123456789"
