"""Interop matrix: protocol × call kind × codec × compression × HTTP version, against servers
nobody here wrote (connect-node and connect-python), driven through the CLI in-process.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.interop

PROTO = "tests/protos/rpcctl/test/v1/test.proto"
PEERS = ["node_peer", "connect_python_peer"]
PROTOCOLS = ["connect", "grpc-web", "grpc"]
CODECS = ["json", "proto"]
COMPRESSIONS = ["identity", "gzip"]
HTTP = ["--http1", "--http2"]
# Native gRPC is HTTP/2 only (gRPC's PROTOCOL-HTTP2.md); its --http1 cases are not cases.
WIRES = [
    pytest.param(protocol, http, id=f"{protocol}-{http[2:]}")
    for protocol in PROTOCOLS
    for http in HTTP
    if not (protocol == "grpc" and http == "--http1")
]


def _peer(request: pytest.FixtureRequest, name: str) -> Any:
    return request.getfixturevalue(name)


def _run(url: str, method: str, stdin: bytes, protocol: str, codec: str, comp: str, http: str):  # type: ignore[no-untyped-def]
    return run_cli(
        "call",
        url,
        method,
        "--proto",
        PROTO,
        "-d",
        "@-",
        "--protocol",
        protocol,
        "--codec",
        codec,
        "--compress",
        comp,
        http,
        "-H",
        "x-rpcctl-matrix: yes",
        "--timeout",
        "10s",
        stdin=stdin,
    )


@pytest.mark.parametrize("comp", COMPRESSIONS)
@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize(("protocol", "http"), WIRES)
@pytest.mark.parametrize("peer", PEERS)
def test_unary(
    request: pytest.FixtureRequest, peer: str, protocol: str, codec: str, comp: str, http: str
) -> None:
    p = _peer(request, peer)
    result = _run(
        p.base_url,
        "Echo",
        b'{"message":"hello \\u263a", "kitchen": {"big": "9007199254740993"}}',
        protocol,
        codec,
        comp,
        http,
    )
    assert result.exit_code == 0, result.stderr
    out = result.json
    assert out["message"] == "hello \u263a"
    assert out["kitchen"]["big"] == "9007199254740993"
    seen = out["headers"]
    assert "x-rpcctl-matrix: yes" in seen
    if comp == "gzip":
        header = "content-encoding: gzip" if protocol == "connect" else "grpc-encoding: gzip"
        assert header in seen, seen


@pytest.mark.parametrize("comp", COMPRESSIONS)
@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize(("protocol", "http"), WIRES)
@pytest.mark.parametrize("peer", PEERS)
def test_server_stream(
    request: pytest.FixtureRequest, peer: str, protocol: str, codec: str, comp: str, http: str
) -> None:
    p = _peer(request, peer)
    result = _run(p.base_url, "Count", b'{"count": 4}', protocol, codec, comp, http)
    assert result.exit_code == 0, result.stderr
    assert [m.get("n", 0) for m in result.json_lines] == [1, 2, 3, 4]


@pytest.mark.parametrize("comp", COMPRESSIONS)
@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize(("protocol", "http"), WIRES)
@pytest.mark.parametrize("peer", PEERS)
def test_client_stream(
    request: pytest.FixtureRequest, peer: str, protocol: str, codec: str, comp: str, http: str
) -> None:
    p = _peer(request, peer)
    result = _run(p.base_url, "Sum", b'{"n":1} {"n":2}\n{"n":39}', protocol, codec, comp, http)
    assert result.exit_code == 0, result.stderr
    assert result.json == {"total": "42", "messages": 3}


@pytest.mark.parametrize("comp", COMPRESSIONS)
@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize(("protocol", "http"), WIRES)
@pytest.mark.parametrize("peer", PEERS)
def test_bidi(
    request: pytest.FixtureRequest, peer: str, protocol: str, codec: str, comp: str, http: str
) -> None:
    p = _peer(request, peer)
    result = _run(p.base_url, "Chat", b'{"message":"a"}\n{"message":"b"}', protocol, codec, comp, http)
    if http == "--http1" and peer == "node_peer":
        # connect-node refuses bidi over HTTP/1.1 (505): a clear error, not a hang.
        assert result.exit_code == 64 + 2, result.stderr
        assert "HTTP 505" in result.stderr and "drop --http1" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    assert [(m["message"], m["seq"]) for m in result.json_lines] == [("a", 1), ("b", 2)]
