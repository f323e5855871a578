"""Interop beyond the matrix: error details, path prefix, GET, deadlines, and the full-duplex
acceptance (the first bidi response is shown before the second request is written)."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from typing import Any

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.interop

PROTO = "tests/protos/rpcctl/test/v1/test.proto"
PEERS = ["node_peer", "connect_python_peer"]
PROTOCOLS = ["connect", "grpc-web", "grpc"]
# Native gRPC is HTTP/2 only (gRPC's PROTOCOL-HTTP2.md); its --http1 cases are not cases.
WIRES = [
    pytest.param(protocol, http, id=f"{protocol}-{http[2:]}")
    for protocol in PROTOCOLS
    for http in ("--http1", "--http2")
    if not (protocol == "grpc" and http == "--http1")
]


@pytest.mark.parametrize(("protocol", "http"), WIRES)
@pytest.mark.parametrize("peer", PEERS)
def test_error_with_details(request: pytest.FixtureRequest, peer: str, protocol: str, http: str) -> None:
    p = request.getfixturevalue(peer)
    result = run_cli(
        "call",
        p.base_url,
        "Fail",
        "--proto",
        PROTO,
        "--protocol",
        protocol,
        http,
        "-d",
        '{"code": 9, "message": "nope: 100% ☺", "with_details": true}',
    )
    assert result.exit_code == 64 + 9, result.stderr
    assert "FAILED_PRECONDITION (9): nope: 100% ☺" in result.stderr
    assert '"reason": "TEST_FAILURE"' in result.stderr  # google.rpc.ErrorInfo decoded
    assert "google.rpc.BadRequest" in result.stderr


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("peer", PEERS)
def test_stream_error_after_messages(request: pytest.FixtureRequest, peer: str, protocol: str) -> None:
    p = request.getfixturevalue(peer)
    result = run_cli(
        "call",
        p.base_url,
        "Count",
        "--proto",
        PROTO,
        "--protocol",
        protocol,
        "-d",
        '{"count": 2, "fail_code": 10}',
    )
    assert result.exit_code == 64 + 10, result.stderr
    assert len(result.json_lines) == 2


@pytest.mark.parametrize(("protocol", "http"), WIRES)
def test_path_prefix_runner_ping(node_peer: Any, protocol: str, http: str) -> None:
    result = run_cli(
        "call",
        node_peer.runner_base_url,
        "RunnerService/Ping",
        "--protocol",
        protocol,
        http,
        "-d",
        '{"data": "hi"}',
    )
    assert result.exit_code == 0, result.stderr
    assert result.json == {"data": "hi"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_runner_ping_at_the_root(node_peer: Any, protocol: str) -> None:
    # The Node peer mounts RunnerService at the root too, for native gRPC (no path prefix).
    result = run_cli(
        "call", node_peer.base_url, "RunnerService/Ping", "--protocol", protocol, "-d", '{"data": "hi"}'
    )
    assert result.exit_code == 0, result.stderr
    assert result.json == {"data": "hi"}


def test_path_prefix_unknown_is_unimplemented(node_peer: Any) -> None:
    url = node_peer.base_url + "/api/v2/elsewhere"
    result = run_cli("call", url, "RunnerService/Ping", "-d", '{"data": "hi"}')
    assert result.exit_code == 64 + 12, result.stderr


@pytest.mark.parametrize("codec", ["json", "proto"])
@pytest.mark.parametrize("peer", PEERS)
def test_connect_get(request: pytest.FixtureRequest, peer: str, codec: str) -> None:
    p = request.getfixturevalue(peer)
    result = run_cli(
        "call",
        p.base_url,
        "Lookup",
        "--proto",
        PROTO,
        "--get",
        "--codec",
        codec,
        "-d",
        '{"message": "cache me"}',
    )
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "cache me"
    refused = run_cli("call", p.base_url, "Echo", "--proto", PROTO, "--get", "-d", "{}")
    assert refused.exit_code == 2 and "NO_SIDE_EFFECTS" in refused.stderr


@pytest.mark.parametrize("method", ["Echo", "Chat"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("peer", PEERS)
def test_deadline(request: pytest.FixtureRequest, peer: str, protocol: str, method: str) -> None:
    p = request.getfixturevalue(peer)
    result = run_cli(
        "call",
        p.base_url,
        method,
        "--proto",
        PROTO,
        "--protocol",
        protocol,
        "--timeout",
        "200ms",
        "-d",
        '{"message": "slow", "delay_ms": 3000}',
    )
    assert result.exit_code == 64 + 4, result.stderr
    assert "DEADLINE_EXCEEDED" in result.stderr


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("peer", PEERS)
def test_verbose_shows_headers_and_trailers(request: pytest.FixtureRequest, peer: str, protocol: str) -> None:
    p = request.getfixturevalue(peer)
    result = run_cli(
        "call", p.base_url, "Count", "--proto", PROTO, "--protocol", protocol, "-v", "-d", '{"count": 1}'
    )
    assert result.exit_code == 0, result.stderr
    assert "< response headers:" in result.stderr and "< trailers:" in result.stderr


def _readline(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        buf = b""
        while not buf.endswith(b"\n"):
            if not sel.select(timeout):
                raise AssertionError(f"no output within {timeout}s (got {buf!r})")
            chunk = os.read(proc.stdout.fileno(), 1)
            if not chunk:
                break
            buf += chunk
        return buf


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("peer", PEERS)
def test_bidi_full_duplex_acceptance(request: pytest.FixtureRequest, peer: str, protocol: str) -> None:
    """`rpcctl call … Chat -d @-` prints the first answer while stdin is still open."""
    p = request.getfixturevalue(peer)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rpcctl",
            "call",
            p.base_url,
            "Chat",
            "--proto",
            PROTO,
            "--protocol",
            protocol,
            "--http2",
            "-d",
            "@-",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    try:
        proc.stdin.write(b'{"message": "first"}\n')
        proc.stdin.flush()
        first = json.loads(_readline(proc, 20))  # before the second request exists
        assert first == {"message": "first", "seq": 1}
        proc.stdin.write(b'{"message": "second"}\n')
        proc.stdin.close()
        assert json.loads(_readline(proc, 20)) == {"message": "second", "seq": 2}
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
