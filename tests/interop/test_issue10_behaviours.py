"""Issue 10's "behaviour that must hold", items 1, 4, 5, 7, 9, 10, 11 and 12, each through the
`rpcctl` CLI against the real peer it names: grpcio, connect-node, and scripted peers for the
misbehaving servers (tests/cli/raw_peers.py)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import NODE_PEER_DIR, Peer, _run_peer, unavailable
from interop_schema import RUNNER_PREFIX

from tests.cli.raw_peers import http1_answer, http2_only, serving, silent_after_settings
from tests.conftest import ROOT, TEST_PROTO, TEST_PROTO_DIR, Certs, GrpcServer
from tests.support.cli import run_cli
from tests.support.connect_proxy import ConnectProxy

pytestmark = pytest.mark.interop

G = ("--protocol", "grpc")
PROTO = ("--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_DIR))
WAIT = 20.0  # seconds any subprocess may take before the test gives up on it


def _one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# --- 1. native gRPC honours the target's path prefix ---------------------------------------


@pytest.fixture(scope="module")
def prefix_only_peer(tmp_path_factory: pytest.TempPathFactory, test_descriptor_set: Path) -> Iterator[Peer]:
    """connect-node serving RunnerService only under /api/v1/pipeline (nothing at the root)."""
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    argv = [str(node), str(NODE_PEER_DIR / "server.mjs"), str(test_descriptor_set), "--prefix-only"]
    yield from _run_peer("node-prefix-only", argv, NODE_PEER_DIR, tmp_path_factory.mktemp("node-prefix"))


def test_native_grpc_sends_the_target_prefix(prefix_only_peer: Peer) -> None:
    target = prefix_only_peer.base_url + RUNNER_PREFIX
    result = run_cli("call", target, "RunnerService/Ping", *G, "-d", '{"data": "x"}', "--timeout", "10s")
    assert result.exit_code == 0, result.stderr
    assert result.json == {"data": "x"}
    # Without the prefix the same peer has no such method: the prefix is what made it work.
    bare = run_cli("call", prefix_only_peer.base_url, "RunnerService/Ping", *G, "--timeout", "10s")
    assert bare.exit_code == 64 + 12, bare.stderr


# --- 4. large requests go out on every protocol; --max-msg-size bounds what is received ------


@pytest.fixture(scope="module")
def roomy_grpc_server(test_schema: Any) -> Iterator[GrpcServer]:
    """The grpcio test service accepting and sending messages up to 64 MiB."""
    from tests.servers.grpc_test_service import SERVICE, TestServiceImpl
    from tests.support.reflection_v1 import add_v1_reflection

    limit = 64 * 1024 * 1024
    options = [("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=options)
    server.add_generic_rpc_handlers((TestServiceImpl(test_schema.pool).handler(),))
    add_v1_reflection(server, (SERVICE,), test_schema.pool)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield GrpcServer(server, port)
    finally:
        server.stop(grace=None)


@pytest.mark.parametrize("protocol", ["grpc", "grpc-web"])
def test_a_5_mib_request_goes_out(roomy_grpc_server: GrpcServer, protocol: str) -> None:
    big = "x" * (5 * 1024 * 1024)
    args = ("call", roomy_grpc_server.target, "Echo", "--protocol", protocol, "--http2", "-d", "@-")
    stdin = json.dumps({"message": big}).encode()
    if protocol == "grpc-web":
        # grpcio speaks only native gRPC: this shows the request left whole and was answered
        # by a gRPC server (the hint), not refused for its size on our side.
        result = run_cli(*args, *PROTO, stdin=stdin)
        assert "try --protocol grpc" in result.stderr
        assert "larger than" not in result.stderr
        return
    answered = run_cli(*args, "--max-msg-size", str(8 * 1024 * 1024), stdin=stdin)
    assert answered.exit_code == 0, answered.stderr
    assert answered.json["message"] == big
    # The default 4 MiB bounds the 5 MiB echo coming back, not the request that went out.
    bounded = run_cli(*args, stdin=stdin)
    assert bounded.exit_code == 64 + 8, bounded.stderr
    assert "larger than" in bounded.stderr


# --- 5. no hang, ever, without a bound ------------------------------------------------------


@pytest.mark.parametrize("command", ["call", "list", "describe"])
def test_timeout_bounds_reflection_on_a_silent_http2_server(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rpcctl.loader

    # Reflection's own bound out of the way: only --timeout can end this before the peer gives up.
    monkeypatch.setattr(rpcctl.loader, "REFLECTION_TIMEOUT", 1000.0)
    with serving(silent_after_settings) as port:
        args = [command, f"127.0.0.1:{port}", *G, "--timeout", "1s"]
        if command != "list":
            args.insert(2, "Echo")
        result = run_cli(*args)
    assert result.exit_code == 64 + 4, result.stderr
    assert _one_line(result.stderr) == "error: DEADLINE_EXCEEDED (4): --timeout of 1s exceeded"


def test_reflection_has_a_default_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    import rpcctl.loader

    monkeypatch.setattr(rpcctl.loader, "REFLECTION_TIMEOUT", 0.5)
    with serving(silent_after_settings) as port:
        # Keepalive off: only reflection's own deadline can end this.
        result = run_cli("call", f"127.0.0.1:{port}", "Echo", *G, "--keepalive-time", "0")
    assert result.exit_code == 2, result.stderr
    assert "server reflection failed: DEADLINE_EXCEEDED" in result.stderr


def test_keepalive_finds_a_silent_server_without_timeout() -> None:
    with serving(silent_after_settings) as port:
        result = run_cli(
            "call", f"127.0.0.1:{port}", "RunnerService/Ping", *G, "--no-reflect", "--keepalive-time", "1s"
        )
    assert result.exit_code == 64 + 14, result.stderr
    assert "(keepalive)" in _one_line(result.stderr)


def test_option_help_documents_the_default_bounds() -> None:
    def help_text(command: str) -> str:
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
        done = subprocess.run(
            [sys.executable, "-m", "rpcctl", command, "--help"],
            capture_output=True,
            text=True,
            timeout=WAIT,
            env=env,
        )
        return " ".join(done.stdout.replace("│", " ").split())

    text = help_text("call")
    assert "each reflection request gives up after 10s" in text
    assert "default 20s" in text and "--keepalive-time" in text
    assert "bounds only what is received" in text
    for command in ("list", "describe"):
        assert "--timeout" in help_text(command)


def test_reflection_timeout_matches_the_help() -> None:
    from rpcctl.loader import REFLECTION_TIMEOUT

    assert f"{REFLECTION_TIMEOUT:g}s" == "10s"


# --- 7. wrong protocol or HTTP version gets the flag that works, promptly ---------------------


@pytest.mark.parametrize("http", [(), ("--http2",)], ids=["http1", "http2"])
@pytest.mark.parametrize("protocol", ["connect", "grpc-web"])
def test_connect_to_grpcio_says_try_protocol_grpc(
    grpc_server: GrpcServer, protocol: str, http: tuple
) -> None:
    result = run_cli(
        "call", grpc_server.target, "Echo", "--protocol", protocol, *http, *PROTO, "--timeout", "10s"
    )
    assert result.exit_code != 0
    assert "try --protocol grpc" in _one_line(result.stderr)


def test_connect_to_grpcio_with_reflection_says_try_protocol_grpc(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", "--timeout", "10s")
    line = _one_line(result.stderr)
    assert f"{grpc_server.address} speaks only native gRPC, not Connect: try --protocol grpc" in line
    assert "unknown method" not in line


def test_http1_to_an_h2c_only_server_says_http2() -> None:
    with serving(http2_only) as port:
        result = run_cli(
            "call", f"127.0.0.1:{port}", "RunnerService/Ping", "--no-reflect", "--timeout", "10s"
        )
    assert result.exit_code == 64 + 14, result.stderr
    assert "use --http2" in _one_line(result.stderr)


def test_bench_connect_to_grpcio_says_try_protocol_grpc(grpc_server: GrpcServer) -> None:
    result = run_cli(
        "bench", grpc_server.target, "rpcctl.test.v1.TestService/Echo", *PROTO, "-d", "{}",
        "-n", "4", "-c", "2", "--workers", "1",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: error rate 100.00% is above --max-error-rate 0.00%: every connect call failed: "
        f"{grpc_server.address} speaks only native gRPC (over HTTP/2), not Connect: try --protocol grpc"
    )


def test_bench_http1_to_an_h2c_only_server_says_http2() -> None:
    with serving(http2_only) as port:
        result = run_cli(
            "bench", f"127.0.0.1:{port}", "RunnerService/Ping", "--no-reflect", "-d", "{}",
            "-n", "4", "-c", "2", "--workers", "1",
        )  # fmt: skip
    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    assert "every connect call failed: UNAVAILABLE: " in last and last.endswith("use --http2")


def test_https_to_a_plaintext_port_says_use_http(grpc_server: GrpcServer) -> None:
    result = run_cli("call", f"https://{grpc_server.address}", "Echo", *G, "--timeout", "10s")
    assert result.exit_code == 1
    assert "use http://" in _one_line(result.stderr)


def test_http_to_a_tls_port_says_use_https(grpc_tls_server: GrpcServer) -> None:
    result = run_cli("call", f"http://{grpc_tls_server.address}", "Echo", *G, "--timeout", "10s")
    assert result.exit_code == 1
    assert "use https://" in _one_line(result.stderr)


@pytest.mark.parametrize("options", [G, ("--http2",)], ids=["grpc", "connect-http2"])
def test_http1_answer_to_the_http2_preface_fails_at_once(options: tuple[str, ...]) -> None:
    with serving(http1_answer) as port:
        # The peer keeps the connection open: only reading its answer can end this before --timeout.
        result = run_cli(
            "call", f"127.0.0.1:{port}", "RunnerService/Ping", *options, "--no-reflect", "--timeout", "30s"
        )
    assert result.exit_code == 1, result.stderr
    line = _one_line(result.stderr)
    assert "speaks HTTP/1.1 only" in line and "DEADLINE" not in line


# --- 9. bidi from stdin ends cleanly ---------------------------------------------------------


def _bidi(grpc_server: GrpcServer) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "rpcctl", "call", grpc_server.address, "Chat", *G, *PROTO, "-d", "@-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )


def _first_answer(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b'{"message": "a"}\n')
    proc.stdin.flush()
    return dict(json.loads(proc.stdout.readline()))


def _finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    try:
        code = proc.wait(timeout=WAIT)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait(timeout=WAIT)
    assert proc.stderr is not None and proc.stdin is not None
    stderr = proc.stderr.read().decode()
    proc.stdin.close()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    assert "Fatal Python error" not in stderr
    return code, stderr


def test_bidi_stdin_unknown_field_exits_2(grpc_server: GrpcServer) -> None:
    proc = _bidi(grpc_server)
    assert _first_answer(proc) == {"message": "a", "seq": 1}
    assert proc.stdin is not None
    proc.stdin.write(b'{"nope": 1}\n')  # stdin stays open: the error alone must end the call
    proc.stdin.flush()
    code, stderr = _finish(proc)
    assert code == 2, stderr
    assert "nope" in _one_line(stderr)


def test_bidi_stdin_server_error_exits_64_plus_code(grpc_server: GrpcServer) -> None:
    proc = _bidi(grpc_server)
    assert _first_answer(proc)["seq"] == 1
    assert proc.stdin is not None
    # grpcio takes at most 4 MiB per message: the server ends the call RESOURCE_EXHAUSTED.
    proc.stdin.write(json.dumps({"message": "x" * (5 * 1024 * 1024)}).encode() + b"\n")
    proc.stdin.flush()
    code, stderr = _finish(proc)
    assert code == 64 + 8, stderr
    assert _one_line(stderr).startswith("error: RESOURCE_EXHAUSTED (8)")


def test_bidi_stdin_ctrl_c_exits_130(grpc_server: GrpcServer) -> None:
    proc = _bidi(grpc_server)
    assert _first_answer(proc)["seq"] == 1
    proc.send_signal(signal.SIGINT)
    code, stderr = _finish(proc)
    assert code == 130, stderr
    assert _one_line(stderr) == "interrupted"


# --- 10. -v shows the wire, as buf curl -v does -------------------------------------------------


def _buf_verbose(buf_path: Path, schema: Path, url: str, *args: str) -> str:
    done = subprocess.run(
        [str(buf_path), "curl", "-v", "--schema", str(schema), *args, url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def _buf_block(stderr: str, marker: str) -> list[tuple[str, str]]:
    """buf curl -v's header lines after `marker` (`>` request, `<` response), up to the blank one."""
    out, started = [], False
    for line in stderr.splitlines():
        body = line.removeprefix("buf: ")
        if not body.startswith(f"{marker} (#1) "):
            continue
        rest = body[len(f"{marker} (#1) ") :]
        if not started:
            started = True  # the request line, or the status line
            continue
        if not rest.strip():
            break
        name, _, value = rest.partition(": ")
        out.append((name.lower(), value))
    return out


def test_verbose_shows_the_wire_like_buf_curl(
    node_peer: Peer, buf_path: Path, test_descriptor_set: Path
) -> None:
    url = f"{node_peer.base_url}/rpcctl.test.v1.TestService/Echo"
    theirs = _buf_verbose(
        buf_path, test_descriptor_set, url, "--protocol", "grpc", "--http2-prior-knowledge", "-H", "x-user: u1",
        "-d", '{"message": "hi"}',
    )  # fmt: skip
    ours = run_cli(
        "call", node_peer.base_url, "TestService/Echo", *G, *PROTO, "-H", "x-user: u1", "-d", '{"message": "hi"}',
        "--timeout", "10s", "-v",
    )  # fmt: skip
    assert ours.exit_code == 0, ours.stderr
    lines = ours.stderr.splitlines()
    request_line = f"> POST {url} HTTP/2"
    assert request_line in lines
    # What went out is shown before what came back.
    assert lines.index(request_line) < lines.index("< HTTP/2 200")
    sent = {
        line[4:].partition(": ")[0]: line[4:].partition(": ")[2] for line in lines if line.startswith(">   ")
    }
    for name, value in _buf_block(theirs, ">"):
        if name in ("content-type", "te", "x-user"):
            assert sent[name] == value
    assert "grpc-timeout" in sent  # --timeout went out as the call's deadline
    got = {line[4:].partition(": ")[0] for line in lines if line.startswith("<   ")}
    assert {name for name, _ in _buf_block(theirs, "<")} <= got
    assert "<   grpc-status: 0" in lines
    timing = next(line for line in lines if line.startswith("* time: "))
    for label in ("request sent", "first byte", "headers", "end"):
        assert label in timing


def test_verbose_shows_connect_and_tls_moments(grpc_tls_server: GrpcServer, certs: Certs) -> None:
    ours = run_cli(
        "call", grpc_tls_server.target, "Echo", *G, *PROTO, "--cacert", str(certs.cert), "-d", "{}", "-v",
    )  # fmt: skip
    assert ours.exit_code == 0, ours.stderr
    assert f"> POST {grpc_tls_server.target}/rpcctl.test.v1.TestService/Echo HTTP/2" in ours.stderr
    timing = next(line for line in ours.stderr.splitlines() if line.startswith("* time: "))
    assert "connected" in timing and "TLS done" in timing


# --- 11. HTTPS_PROXY / HTTP_PROXY / NO_PROXY --------------------------------------------------


def _clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["grpc", "connect"])
async def test_http_proxy_tunnels_plaintext_calls(
    node_peer: Peer, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    _clear_proxy_env(monkeypatch)
    async with ConnectProxy().running() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        result = await asyncio.to_thread(
            run_cli, "call", node_peer.base_url, "TestService/Echo", "--protocol", protocol, *PROTO,
            "-d", '{"message": "via proxy"}', "--timeout", "10s",
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "via proxy"
    assert proxy.tunnels >= 1
    assert proxy.requests[0].target == node_peer.host


@pytest.mark.asyncio
async def test_https_proxy_tunnels_tls(
    grpc_tls_server: GrpcServer, certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_proxy_env(monkeypatch)
    async with ConnectProxy().running() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        result = await asyncio.to_thread(
            run_cli, "call", grpc_tls_server.target, "Echo", *G, *PROTO, "--cacert", str(certs.cert),
            "-d", '{"message": "tls"}', "--timeout", "10s",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "tls"
    assert proxy.tunnels >= 1


@pytest.mark.asyncio
async def test_no_proxy_bypasses_the_proxy(grpc_server: GrpcServer, monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_proxy_env(monkeypatch)
    async with ConnectProxy().running() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        result = await asyncio.to_thread(
            run_cli, "call", grpc_server.target, "Echo", *G, *PROTO, "-d", "{}", "--timeout", "10s"
        )
    assert result.exit_code == 0, result.stderr
    assert proxy.requests == []


# --- 12. nothing but rpcctl's own line on stderr; no grpc imported ---------------------------


def _run_module(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRPC_")}
    env["GRPC_VERBOSITY"] = "DEBUG"  # would make any grpcio C-core in the process talk
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT, cwd=ROOT, env=env
    )


def test_failing_native_grpc_call_prints_one_line_and_never_imports_grpc(grpc_server: GrpcServer) -> None:
    code = f"""
import sys
from rpcctl.cli.app import main
try:
    main(["call", "{grpc_server.address}", "Fail", "--protocol", "grpc", "-d", '{{"code": 5, "message": "gone"}}'])
except SystemExit as exc:
    status = exc.code
print(status, sorted(m for m in sys.modules if m == "grpc" or m.startswith("grpc._")))
"""
    done = _run_module(code)
    assert done.stdout.strip() == "69 []", done.stderr
    assert done.stderr == "error: NOT_FOUND (5): gone\n"
