"""Through the recording proxy, what works directly works: whatever HTTP version each side speaks.

The upstreams are connect-node servers that speak one HTTP version only (node_peer/version_peer.mjs:
`node:http` alone, or `node:http2` alone, h2c), with no reflection; `rpcctl tail-logs --listen
… --upstream …` runs as a process of its own and every `rpcctl call` too, each bounded by a
subprocess timeout, so that a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import INSTALL_HINT, NODE_MODULES, NODE_PEER_DIR, Peer, _run_peer, unavailable
from interop_schema import RUNNER_PREFIX

pytestmark = pytest.mark.interop

# Far above what any of these calls needs; only a hang reaches it.
HANG_S = 30.0
READY = re.compile(r"listening on (http://\S+)")
PING = "RunnerService/Ping"


def _version_peer(tmp_path_factory: pytest.TempPathFactory, descriptors: Path, *args: str) -> Iterator[Peer]:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    if not (NODE_MODULES / "@connectrpc" / "connect-node").is_dir():
        unavailable(f"the Node peer's npm packages are not installed: {INSTALL_HINT}")
    argv = [node, str(NODE_PEER_DIR / "version_peer.mjs"), str(descriptors), *args]
    yield from _run_peer(
        "-".join(("version", *args)).replace("/", "_"), argv, NODE_PEER_DIR, tmp_path_factory.mktemp("vp")
    )


@pytest.fixture(scope="module")
def h1_peer(tmp_path_factory: pytest.TempPathFactory, test_descriptor_set: Path) -> Iterator[Peer]:
    """connect-node over HTTP/1.1 only."""
    yield from _version_peer(tmp_path_factory, test_descriptor_set, "h1")


@pytest.fixture(scope="module")
def h2c_peer(tmp_path_factory: pytest.TempPathFactory, test_descriptor_set: Path) -> Iterator[Peer]:
    """connect-node over h2c only."""
    yield from _version_peer(tmp_path_factory, test_descriptor_set, "h2c")


@pytest.fixture(scope="module")
def prefixed_h2c_peer(tmp_path_factory: pytest.TempPathFactory, test_descriptor_set: Path) -> Iterator[Peer]:
    """connect-node over h2c only, every service under /api/v1/pipeline."""
    yield from _version_peer(tmp_path_factory, test_descriptor_set, "h2c", RUNNER_PREFIX)


class Proxy:
    """`rpcctl tail-logs --headless --listen 127.0.0.1:0 --upstream URL [options]`, as a process."""

    def __init__(self, upstream: str, *options: str) -> None:
        argv = [sys.executable, "-m", "rpcctl", "tail-logs", "--headless", "--listen", "127.0.0.1:0"]
        self.proc = subprocess.Popen(
            [*argv, "--upstream", upstream, *options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()  # the proxy prints its address first, then serves
        found = READY.search(line)
        if found is None:
            self.close()
            pytest.fail(f"the proxy did not start: {line!r}")
        self.url = found.group(1)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def proxy() -> Iterator[type[Proxy]]:
    started: list[Proxy] = []

    class Started(Proxy):
        def __init__(self, upstream: str, *options: str) -> None:
            super().__init__(upstream, *options)
            started.append(self)

    yield Started
    for running in started:
        running.close()


def call(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`rpcctl call URL …` in a process of its own (reflection on, as by default)."""
    return subprocess.run(
        [sys.executable, "-m", "rpcctl", "call", url, *args],
        capture_output=True,
        text=True,
        timeout=HANG_S,
        stdin=subprocess.DEVNULL,
    )


def _ping(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return call(url, PING, "-d", '{"data": "x"}', *args)


@pytest.mark.parametrize("timeout", [(), ("--timeout", "5s")], ids=["no-timeout", "timeout"])
@pytest.mark.parametrize("protocol", ["connect", "grpc-web"])
def test_http1_upstream_without_reflection(
    h1_peer: Peer, proxy: type[Proxy], protocol: str, timeout: tuple[str, ...]
) -> None:
    """Reflection fails upstream and the call falls back to the bundled schema, as it does directly."""
    direct = _ping(h1_peer.base_url, "--protocol", protocol, *timeout)
    assert direct.returncode == 0, direct.stderr
    through = _ping(proxy(h1_peer.base_url).url, "--protocol", protocol, *timeout)
    assert through.returncode == 0, through.stderr
    assert json.loads(through.stdout) == {"data": "h1: x"}


@pytest.mark.parametrize("timeout", [(), ("--timeout", "5s")], ids=["no-timeout", "timeout"])
@pytest.mark.parametrize("protocol", ["connect", "grpc-web", "grpc"])
def test_h2c_upstream_without_reflection(
    h2c_peer: Peer, proxy: type[Proxy], protocol: str, timeout: tuple[str, ...]
) -> None:
    through = _ping(proxy(h2c_peer.base_url).url, "--protocol", protocol, *timeout)
    assert through.returncode == 0, through.stderr
    assert json.loads(through.stdout) == {"data": "h2c: x"}


@pytest.mark.parametrize("protocol", ["connect", "grpc-web"])
def test_http1_client_reaches_h2c_only_upstream(h2c_peer: Peer, proxy: type[Proxy], protocol: str) -> None:
    """The client's HTTP version is its own hop's: HTTP/1.1 to the proxy, h2c to the upstream."""
    through = _ping(proxy(h2c_peer.base_url).url, "--protocol", protocol, "--http1", "--no-reflect")
    assert through.returncode == 0, through.stderr
    assert json.loads(through.stdout) == {"data": "h2c: x"}


def test_h2c_client_reaches_http1_only_upstream(h1_peer: Peer, proxy: type[Proxy]) -> None:
    through = _ping(proxy(h1_peer.base_url).url, "--http2", "--no-reflect")
    assert through.returncode == 0, through.stderr
    assert json.loads(through.stdout) == {"data": "h1: x"}


def test_upstream_http1_flag(h2c_peer: Peer, h1_peer: Peer, proxy: type[Proxy]) -> None:
    """--upstream-http1 holds even where h2c would work; the error says which upstream failed."""
    forced = proxy(h2c_peer.base_url, "--upstream-http1")
    result = _ping(forced.url, "--no-reflect", "--timeout", "5s")
    assert result.returncode == 64 + 14, result.stderr
    assert f"upstream {h2c_peer.base_url}" in result.stderr
    assert _ping(proxy(h1_peer.base_url, "--upstream-http1").url, "--no-reflect").returncode == 0


def test_upstream_http2_flag(h1_peer: Peer, h2c_peer: Peer, proxy: type[Proxy]) -> None:
    """--upstream-http2 holds even where HTTP/1.1 would work; the error names the upstream."""
    forced = proxy(h1_peer.base_url, "--upstream-http2")
    result = _ping(forced.url, "--no-reflect", "--timeout", "5s")
    assert result.returncode == 64 + 14, result.stderr
    assert f"upstream {h1_peer.base_url}" in result.stderr
    assert "HTTP/1.1" in result.stderr
    assert _ping(proxy(h2c_peer.base_url, "--upstream-http2").url, "--no-reflect").returncode == 0


def test_native_grpc_to_http1_upstream_names_it(h1_peer: Peer, proxy: type[Proxy]) -> None:
    result = _ping(proxy(h1_peer.base_url).url, "--protocol", "grpc", "--no-reflect")
    assert result.returncode == 64 + 14, result.stderr
    assert f"upstream {h1_peer.base_url}" in result.stderr
    assert "native gRPC" in result.stderr


@pytest.mark.parametrize("client_prefix", [False, True], ids=["client-without-prefix", "client-with-prefix"])
def test_prefixed_upstream_over_native_grpc(
    prefixed_h2c_peer: Peer, proxy: type[Proxy], client_prefix: bool
) -> None:
    """The upstream's path prefix is added to every call, native gRPC included."""
    running = proxy(prefixed_h2c_peer.base_url + RUNNER_PREFIX)
    assert running.url.endswith(RUNNER_PREFIX)  # the proxy serves under the upstream's prefix
    url = running.url if client_prefix else running.url.removesuffix(RUNNER_PREFIX)
    result = _ping(url, "--protocol", "grpc", "--timeout", "5s")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"data": "h2c: x"}


def test_flags_need_upstream() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rpcctl",
            "tail-logs",
            "--headless",
            "--listen",
            "127.0.0.1:0",
            "--upstream-http2",
        ],
        capture_output=True,
        text=True,
        timeout=HANG_S,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "need --upstream" in result.stderr
