from __future__ import annotations
import pytest
from tests.support.cli import run_cli
PROTO = "tests/protos/rpcctl/test/v1/test.proto"

@pytest.mark.interop
@pytest.mark.parametrize("peer", ["node_peer", "connect_python_peer"])
@pytest.mark.parametrize("args", [
    ["--protocol", "connect"],
    ["--protocol", "connect", "--codec", "proto"],
    ["--protocol", "connect", "--http2"],
    ["--protocol", "grpc-web"],
    ["--protocol", "grpc-web", "--http2"],
])
def test_echo(request, peer, args):
    p = request.getfixturevalue(peer)
    r = run_cli("call", p.base_url, "Echo", "--proto", PROTO, "-d", '{"message":"hi"}', "-v", *args)
    print(r.stderr)
    assert r.exit_code == 0, r.stderr
    assert r.json["message"] == "hi"

@pytest.mark.interop
@pytest.mark.parametrize("peer", ["node_peer", "connect_python_peer"])
@pytest.mark.parametrize("args", [
    ["--protocol", "connect"],
    ["--protocol", "connect", "--codec", "proto", "--compress", "gzip"],
    ["--protocol", "connect", "--http2"],
    ["--protocol", "grpc-web"],
    ["--protocol", "grpc-web", "--http2", "--compress", "gzip"],
])
@pytest.mark.parametrize("method,data,expect", [
    ("Count", b'{"count":3}', 3),
    ("Sum", b'{"n":1}\n{"n":2}\n{"n":3}', 1),
    ("Chat", b'{"message":"a"}\n{"message":"b"}', 2),
])
def test_streams(request, peer, args, method, data, expect):
    p = request.getfixturevalue(peer)
    r = run_cli("call", p.base_url, method, "--proto", PROTO, "-d", "@-", "-v", *args, stdin=data)
    print(r.stderr)
    assert r.exit_code == 0, r.stderr
    assert len(r.json_lines) == expect, r.stdout
