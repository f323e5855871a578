"""The proxy end to end over native gRPC: rpcctl → proxy (our server) → grpcio test service.

Every call through the proxy gives the CLI output, exit status and errors of the same
call made directly, and the capture holds every message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rpcctl.call_events import EventKind
from tests.proxy.serving import RunningProxy, running_proxy
from tests.support.cli import CliResult, run_cli

PROTO = "tests/protos/rpcctl/test/v1/test.proto"


@pytest.fixture(scope="module")
def proxy(
    grpc_server: Any, test_schema: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningProxy]:
    capture = tmp_path_factory.mktemp("proxy") / "capture.jsonl"
    with running_proxy(grpc_server.target, test_schema, capture) as running:
        yield running


def _call(target: str, method: str, *args: str, stdin: bytes = b"") -> CliResult:
    return run_cli("call", target, method, "--protocol", "grpc", "--proto", PROTO, *args, stdin=stdin)


def _both(
    grpc_server: Any, proxy: RunningProxy, method: str, *args: str, stdin: bytes = b""
) -> tuple[CliResult, CliResult]:
    direct = _call(grpc_server.target, method, *args, stdin=stdin)
    proxied = _call(proxy.url, method, *args, stdin=stdin)
    return direct, proxied


def _same(direct: CliResult, proxied: CliResult) -> None:
    assert (proxied.exit_code, proxied.stdout, proxied.stderr) == (
        direct.exit_code,
        direct.stdout,
        direct.stderr,
    )


def _events_of_last_call(proxy: RunningProxy, method: str, calls: int) -> list[Any]:
    events = proxy.events(calls)
    ends = [e for e in events if e.kind is EventKind.END and e.method.endswith("/" + method)]
    call_id = ends[-1].call_id
    return [e for e in events if e.call_id == call_id]


def _count_ends(proxy: RunningProxy) -> int:
    return sum(e.kind is EventKind.END for e in proxy.events(0))


def test_unary_and_metadata_echo(grpc_server: Any, proxy: RunningProxy) -> None:
    before = _count_ends(proxy)
    args = ("-d", '{"message": "hi", "kitchen": {"big": "12345678901234", "blob": "AAE="}}',
            "-H", "x-user: alice", "-H", "authorization: Bearer s3cret", "-H", "x-raw-bin: AAEC")  # fmt: skip
    direct, proxied = _both(grpc_server, proxy, "Echo", *args)
    assert direct.exit_code == 0, direct.stderr
    _same(direct, proxied)
    headers = proxied.json["headers"]
    assert "x-user: alice" in headers and "authorization: Bearer s3cret" in headers
    events = _events_of_last_call(proxy, "Echo", before + 1)
    assert [e.kind for e in events] == [EventKind.START, EventKind.REQUEST, EventKind.RESPONSE, EventKind.END]
    start = events[0]
    assert start.info["protocol"] == "grpc"
    assert ["authorization", "[REDACTED]"] in start.info["headers"]
    assert ["x-user", "alice"] in start.info["headers"]
    assert events[1].message["kitchen"]["big"] == "12345678901234"
    assert events[2].message["message"] == "hi"
    assert events[3].info["status"] == "OK"
    # (The Echo response itself quotes the header: message content is not redacted.)
    assert "s3cret" not in json.dumps(start.info)


def test_verbose_headers_and_trailers(grpc_server: Any, proxy: RunningProxy) -> None:
    direct, proxied = _both(grpc_server, proxy, "Echo", "-d", '{"message": "v"}', "-v")
    assert direct.exit_code == 0
    assert direct.stdout == proxied.stdout
    for line in ("x-echo-initial: yes", "x-echo-trailer: done"):
        assert line in direct.stderr and line in proxied.stderr


def test_server_stream(grpc_server: Any, proxy: RunningProxy) -> None:
    before = _count_ends(proxy)
    direct, proxied = _both(grpc_server, proxy, "Count", "-d", '{"count": 5}')
    assert direct.exit_code == 0
    _same(direct, proxied)
    assert [m["n"] for m in proxied.json_lines] == [1, 2, 3, 4, 5]
    events = _events_of_last_call(proxy, "Count", before + 1)
    assert [e.message["n"] for e in events if e.kind is EventKind.RESPONSE] == [1, 2, 3, 4, 5]


def test_server_stream_failing_after_messages(grpc_server: Any, proxy: RunningProxy) -> None:
    direct, proxied = _both(grpc_server, proxy, "Count", "-d", '{"count": 2, "fail_code": 10}')
    assert direct.exit_code == 64 + 10
    _same(direct, proxied)


def test_client_stream(grpc_server: Any, proxy: RunningProxy) -> None:
    before = _count_ends(proxy)
    stdin = b'{"n": 1} {"n": 2} {"n": 39}'
    direct, proxied = _both(grpc_server, proxy, "Sum", "-d", "@-", stdin=stdin)
    assert direct.exit_code == 0
    _same(direct, proxied)
    assert proxied.json == {"total": "42", "messages": 3}
    events = _events_of_last_call(proxy, "Sum", before + 1)
    assert [e.message for e in events if e.kind is EventKind.REQUEST] == [{"n": 1}, {"n": 2}, {"n": 39}]


def test_bidi(grpc_server: Any, proxy: RunningProxy) -> None:
    stdin = b"".join(json.dumps({"message": f"m{i}"}).encode() + b"\n" for i in range(10))
    direct, proxied = _both(grpc_server, proxy, "Chat", "-d", "@-", stdin=stdin)
    assert direct.exit_code == 0
    _same(direct, proxied)
    assert [m["seq"] for m in proxied.json_lines] == list(range(1, 11))


def test_error_with_details(grpc_server: Any, proxy: RunningProxy) -> None:
    before = _count_ends(proxy)
    args = ("-d", '{"code": 9, "message": "no way", "with_details": true}', "-v")
    direct, proxied = _both(grpc_server, proxy, "Fail", *args)
    assert direct.exit_code == 64 + 9
    assert (proxied.exit_code, proxied.stdout) == (direct.exit_code, direct.stdout)
    # From the trailers on, the -v output matches but for timings. (grpcio answers
    # Trailers-Only, rpcctl's server sends headers and then trailers: the header blocks differ.)
    assert _from_trailers(proxied.stderr) == _from_trailers(direct.stderr)
    assert "< trailers:" in direct.stderr
    assert "TEST_FAILURE" in proxied.stderr
    end = _events_of_last_call(proxy, "Fail", before + 1)[-1]
    assert (end.info["code"], end.info["message"]) == (9, "no way")
    assert [d["type"] for d in end.info["details"]] == ["google.rpc.ErrorInfo", "google.rpc.BadRequest"]


def _from_trailers(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("< trailers:") if "< trailers:" in lines else len(lines)
    return [line for line in lines[start:] if not line.startswith("* ")]  # timings vary


def test_deadline(grpc_server: Any, proxy: RunningProxy) -> None:
    direct, proxied = _both(
        grpc_server, proxy, "Echo", "-d", '{"message": "slow", "delay_ms": 3000}', "--timeout", "300ms"
    )
    assert direct.exit_code == 64 + 4
    assert proxied.exit_code == 64 + 4
    assert "DEADLINE_EXCEEDED" in proxied.stderr


@pytest.mark.parametrize("protocol", ["grpc", "connect", "grpc-web"])
def test_upstream_down_is_unavailable(
    test_schema: Any, tmp_path: Path, protocol: str, closed_port: int
) -> None:
    port = closed_port
    upstream = f"http://127.0.0.1:{port}"
    with running_proxy(upstream, test_schema, tmp_path / "c.jsonl") as proxy:
        result = run_cli(
            "call", proxy.url, "Echo", "--protocol", protocol, "--proto", PROTO, "-d", '{"message": "x"}'
        )
        events = proxy.events(1)
    assert result.exit_code == 64 + 14, result.stderr
    assert f"upstream {upstream} unavailable" in result.stderr
    assert events[-1].info["status"] == "UNAVAILABLE"
