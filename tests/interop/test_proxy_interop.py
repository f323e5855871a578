"""The recording proxy in front of servers nobody here wrote (connect-node, connect-python).

rpcctl → proxy (our server + `proxy_table`) → peer, over Connect, gRPC-Web and native gRPC:
every call gives the CLI output and exit status of the same call made directly (the peers
echo the headers they received, so metadata pass-through is compared too), and the capture
holds every message.
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
from tests.support.schema import compile_test_schema

pytestmark = pytest.mark.interop

PROTO = "tests/protos/rpcctl/test/v1/test.proto"
PEERS = ["node_peer", "connect_python_peer"]
PROTOCOLS = ["connect", "grpc-web", "grpc"]


@pytest.fixture(scope="module", params=PEERS)
def proxied_peer(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, RunningProxy]]:
    peer = request.getfixturevalue(request.param)
    capture = tmp_path_factory.mktemp("proxy-interop") / "capture.jsonl"
    with running_proxy(peer.base_url, compile_test_schema(), capture) as proxy:
        yield peer, proxy


def _call(url: str, method: str, protocol: str, *args: str, stdin: bytes = b"") -> CliResult:
    # No --timeout: the proxy passes on the time left, which the peers would echo.
    return run_cli("call", url, method, "--proto", PROTO, "--protocol", protocol, *args, stdin=stdin)


def _compare(
    proxied_peer: tuple[Any, RunningProxy], method: str, protocol: str, *args: str, stdin: bytes = b""
) -> CliResult:
    peer, proxy = proxied_peer
    direct = _call(peer.base_url, method, protocol, *args, stdin=stdin)
    through = _call(proxy.url, method, protocol, *args, stdin=stdin)
    assert through.exit_code == direct.exit_code, through.stderr
    assert _hop_neutral(through.stdout) == _hop_neutral(direct.stdout), through.stderr
    if direct.exit_code:
        assert through.stderr == direct.stderr
    return through


def _last_call(proxy: RunningProxy, method: str) -> list[Any]:
    events = proxy.events(0)
    ends = [e for e in events if e.kind is EventKind.END and e.method.endswith("/" + method)]
    return [e for e in events if e.call_id == ends[-1].call_id]


@pytest.mark.parametrize(
    ("protocol", "codec"),
    [
        ("connect", "json"),
        ("connect", "proto"),
        ("grpc-web", "json"),
        ("grpc-web", "proto"),
        ("grpc", "proto"),
    ],
)
def test_unary(proxied_peer: tuple[Any, RunningProxy], protocol: str, codec: str) -> None:
    data = '{"message": "hi \\u263a", "kitchen": {"big": "9007199254740993"}}'
    result = _compare(proxied_peer, "Echo", protocol, "--codec", codec, "-d", data, "-H", "x-user: alice")
    assert result.exit_code == 0, result.stderr
    assert "x-user: alice" in result.json["headers"]
    events = _last_call(proxied_peer[1], "Echo")
    assert events[0].info["protocol"] == protocol
    assert [e.kind for e in events] == [EventKind.START, EventKind.REQUEST, EventKind.RESPONSE, EventKind.END]
    assert events[1].message["kitchen"]["big"] == "9007199254740993"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_server_stream(proxied_peer: tuple[Any, RunningProxy], protocol: str) -> None:
    result = _compare(proxied_peer, "Count", protocol, "-d", '{"count": 4}')
    assert [m["n"] for m in result.json_lines] == [1, 2, 3, 4]
    events = _last_call(proxied_peer[1], "Count")
    assert [e.message["n"] for e in events if e.kind is EventKind.RESPONSE] == [1, 2, 3, 4]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_client_stream(proxied_peer: tuple[Any, RunningProxy], protocol: str) -> None:
    result = _compare(proxied_peer, "Sum", protocol, "-d", "@-", stdin=b'{"n": 1} {"n": 2} {"n": 3}')
    assert result.json["total"] == "6"
    events = _last_call(proxied_peer[1], "Sum")
    assert len([e for e in events if e.kind is EventKind.REQUEST]) == 3


@pytest.mark.parametrize("protocol", ["connect", "grpc"])
def test_bidi(proxied_peer: tuple[Any, RunningProxy], protocol: str) -> None:
    stdin = b"".join(json.dumps({"message": f"m{i}"}).encode() + b"\n" for i in range(5))
    result = _compare(proxied_peer, "Chat", protocol, "--http2", "-d", "@-", stdin=stdin)
    assert [m["message"] for m in result.json_lines] == [f"m{i}" for i in range(5)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_error_with_details(proxied_peer: tuple[Any, RunningProxy], protocol: str) -> None:
    result = _compare(
        proxied_peer, "Fail", protocol, "-d", '{"code": 5, "message": "gone", "with_details": true}'
    )
    assert result.exit_code == 64 + 5
    end = _last_call(proxied_peer[1], "Fail")[-1]
    assert (end.info["code"], end.info["message"]) == (5, "gone")
    assert end.info["details"]


@pytest.mark.parametrize("protocol", ["connect", "grpc-web"])
def test_gzip(proxied_peer: tuple[Any, RunningProxy], protocol: str) -> None:
    result = _compare(proxied_peer, "Echo", protocol, "--compress", "gzip", "-d", '{"message": "zip"}')
    assert result.json["message"] == "zip"


def test_capture_header(proxied_peer: tuple[Any, RunningProxy], tmp_path: Path) -> None:
    from rpcctl.proxy.capture import read_capture

    capture = read_capture(proxied_peer[1].capture)
    assert capture.schema is not None and capture.redacted


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_deadline(proxied_peer: tuple[Any, RunningProxy], protocol: str) -> None:
    peer, proxy = proxied_peer
    args = ("-d", '{"message": "slow", "delay_ms": 3000}', "--timeout", "300ms")
    direct = _call(peer.base_url, "Echo", protocol, *args)
    through = _call(proxy.url, "Echo", protocol, *args)
    assert direct.exit_code == through.exit_code == 64 + 4, through.stderr


@pytest.mark.parametrize("method", ["Echo", "Count", "Sum", "Fail"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_without_schema_messages_pass_raw(
    connect_python_peer: Any, tmp_path: Path, protocol: str, method: str
) -> None:
    data = {
        "Echo": '{"message": "raw"}',
        "Count": '{"count": 3}',
        "Sum": '{"n": 4} {"n": 5}',
        "Fail": '{"code": 7}',
    }
    with running_proxy(connect_python_peer.base_url, None, tmp_path / "raw.jsonl") as proxy:
        direct = _call(connect_python_peer.base_url, method, protocol, "-d", data[method])
        through = _call(proxy.url, method, protocol, "-d", data[method])
        events = _last_call(proxy, method)
    assert through.exit_code == direct.exit_code and through.exit_code in (0, 64 + 7)
    assert through.stderr == direct.stderr
    # Without a schema the call kind is unknown: a gRPC-Web call goes upstream in the bidi
    # shape (over h2c), so the HTTP headers the peer echoes may differ; the messages do not.
    assert _without_headers(through) == _without_headers(direct)
    messages = [e for e in events if e.kind in (EventKind.REQUEST, EventKind.RESPONSE)]
    assert messages and all(e.message is None and e.raw is not None for e in messages)


# Headers of the HTTP hop, not of the call: the proxy reaches the upstream over h2c when it
# speaks it (RFC 9113 has no `host` and needs no `content-length`), the client over HTTP/1.1.
HOP_HEADERS = ("host: ", "content-length: ")


def _hop_neutral(stdout: str) -> list[Any]:
    """Each output line's JSON, with the echoed hop-by-hop headers left out."""
    docs = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("headers"), list):
            doc["headers"] = [h for h in doc["headers"] if not h.startswith(HOP_HEADERS)]
    return docs


def _without_headers(result: CliResult) -> list[Any]:
    return [{k: v for k, v in doc.items() if k != "headers"} for doc in result.json_lines]


@pytest.mark.parametrize("protocol", ["connect", "grpc-web"])  # native gRPC has no path prefix
def test_runner_service_behind_a_prefix(node_peer: Any, tmp_path: Path, protocol: str) -> None:
    """The proxy serves under the upstream's prefix; runner tokens are redacted in the capture.

    The Node peer issues a fresh runner (id, uuid, token) per Register, so the answers are
    compared on Declare, which names the same runner every time.
    """
    from tests.support.schema import RUNNER_PROTO, RUNNER_PROTO_ROOT, compile_runner_schema

    capture = tmp_path / "runner.jsonl"
    args = ("--proto", str(RUNNER_PROTO), "-I", str(RUNNER_PROTO_ROOT), "--protocol", protocol)
    data = '{"name": "w1", "token": "reg-s3cret", "labels": ["linux"]}'
    with running_proxy(node_peer.runner_base_url, compile_runner_schema(), capture) as proxy:
        assert proxy.url.endswith(":" + str(proxy.port))
        registered = run_cli(
            "call", proxy.url + "/api/v1/pipeline", "RunnerService/Register", *args, "-d", data
        )
        assert registered.exit_code == 0, registered.stderr
        runner = registered.json["runner"]
        assert runner["name"] == "w1" and runner["token"] not in ("", "reg-s3cret")
        declare = json.dumps({"token": runner["token"], "uuid": runner["uuid"]})
        direct = run_cli("call", node_peer.runner_base_url, "RunnerService/Declare", *args, "-d", declare)
        through = run_cli(
            "call", proxy.url + "/api/v1/pipeline", "RunnerService/Declare", *args, "-d", declare
        )
        events = proxy.events(2)
    assert direct.exit_code == 0, direct.stderr
    assert (through.exit_code, through.stdout) == (direct.exit_code, direct.stdout), through.stderr
    assert through.json["runner"] == runner
    text = capture.read_text()
    assert "reg-s3cret" not in text and runner["token"] not in text
    declares = [e for e in events if e.method == "/pkg.proto.runner.v1.RunnerService/Declare"]
    request = next(e for e in declares if e.kind is EventKind.REQUEST)
    response = next(e for e in declares if e.kind is EventKind.RESPONSE)
    # The same token in the request and the response: the same placeholder.
    assert request.message["token"] == response.message["runner"]["token"] != runner["token"]
