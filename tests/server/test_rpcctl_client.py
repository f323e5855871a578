"""rpcctl's own client (the CLI, in-process) against rpcctl's server, schema by reflection."""

from __future__ import annotations

import pytest

from rpcctl.server.serve import Server
from tests.support.cli import run_cli

PROTOCOLS = ["grpc", "connect", "grpc-web"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_list(threaded: Server, protocol: str):
    res = run_cli("list", threaded.url, "--protocol", protocol)
    assert res.exit_code == 0, res.stderr
    assert "rpcctl.test.v1.TestService" in res.stdout.split()


@pytest.mark.parametrize("codec", ["json", "proto"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_call_unary_stream_and_error(threaded: Server, protocol: str, codec: str):
    flags = ["--protocol", protocol] + ([] if protocol == "grpc" else ["--codec", codec])
    res = run_cli("call", threaded.url, "TestService/Echo", "-d", '{"message": "hi"}', *flags)
    assert res.exit_code == 0, res.stderr
    assert res.json["message"] == "hi"
    res = run_cli("call", threaded.url, "Count", "-d", '{"count": 2}', *flags)
    assert res.exit_code == 0, res.stderr
    assert res.json_lines == [{"n": 1}, {"n": 2}]
    res = run_cli("call", threaded.url, "Sum", "-d", '{"n": 40} {"n": 2}', *flags)
    assert res.exit_code == 0, res.stderr
    assert res.json == {"total": "42", "messages": 2}
    res = run_cli("call", threaded.url, "Fail", "-d", '{"code": 5, "message": "gone"}', *flags)
    assert res.exit_code == 64 + 5
    assert "gone" in res.stderr


def test_call_deadline_over_grpc(threaded: Server):
    res = run_cli(
        "call",
        threaded.url,
        "Echo",
        "-d",
        '{"message": "s", "delayMs": 3000}',
        "--timeout",
        "200ms",
        "--protocol",
        "grpc",
    )
    assert res.exit_code == 64 + 4, res.stderr
