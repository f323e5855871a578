"""A one-off call loads, below the CLI, only what a working call needs (issue 14 §1).

What only a failure, a proxy or a mistyped name uses is loaded when it happens: reason
phrases (`http.HTTPStatus`, ~0.6 ms), name suggestions (`difflib`, ~0.6 ms), compression (`zlib`, ~0.2 ms), the proxy
record, the probe's answer, a status's details and bench's whole responses (a frozen
dataclass costs ~0.5 ms to create). Proved from `sys.modules` at the exit of a subprocess that
runs rpcctl's `main` (as `tests/cli/test_startup.py` does).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
METHOD = "rpcctl.test.v1.TestService/Echo"
TRANSPORTS = [["--http1"], ["--http2"], ["--protocol", "grpc"], ["--protocol", "grpc-web"]]

# Loaded by no working call.
NOT_IN_CALL = (
    "http",
    "difflib",
    "zlib",
    "rpcctl.transport.proxy",
    "rpcctl.transport.probe",
    "rpcctl.wire.error_detail",
    "rpcctl.transport.whole_response",
)


def _run(code: str, args: list[str], env: dict[str, str] | None = None) -> tuple[set[str], str, int]:
    """sys.modules at the exit of `python -c CODE ARGS`, its stdout and its exit status."""
    dump = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('LOADED', *sorted(sys.modules), file=sys.stderr))\n"
    )
    cmd = [sys.executable, "-c", dump + code, *args]
    result = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    lines = [x for x in result.stderr.splitlines() if x.startswith("LOADED ")]
    assert lines, result.stderr
    return (
        set(lines[-1].split()[1:]),
        result.stdout + result.stderr[: result.stderr.find("LOADED ")],
        result.returncode,
    )


def _call(
    url: str, protoset: Path, transport: list[str], env: dict[str, str] | None = None
) -> tuple[set[str], str, int]:
    args = [
        "call",
        url,
        METHOD,
        *transport,
        "--protoset",
        str(protoset),
        "--no-reflect",
        "-d",
        '{"message": "hi"}',
    ]
    return _run("from rpcctl.cli.app import main\nmain(sys.argv[1:])\n", args, env)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """rpcctl's server with the test service (Connect, gRPC, gRPC-Web) on a thread: its URL, and
    its schema written as a protoset file."""
    from tests.support.rpcctl_test_service import rpcctl_test_service
    from tests.support.schema import compile_test_schema

    protoset = tmp_path_factory.mktemp("schema") / "test.binpb"
    protoset.write_bytes(compile_test_schema().to_protoset())
    with rpcctl_test_service() as url:
        yield url, protoset


def _direct_cold_env() -> dict[str, str]:
    """This environment without proxy variables, and with no daemon (the call runs here)."""
    names = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"}
    return {**{k: v for k, v in os.environ.items() if k not in names}, "RPCCTL_DAEMON": "off"}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_working_call_loads_no_failure_only_module(served: tuple[str, Path], transport: list[str]) -> None:
    loaded, out, status = _call(*served, transport, _direct_cold_env())
    assert status == 0, out
    assert json.loads(out.splitlines()[0])["message"] == "hi"
    assert "rpcctl.schema.registry" in loaded and "rpcctl.transport.endpoint" in loaded
    assert sorted(loaded & set(NOT_IN_CALL)) == []


def test_a_proxy_still_loads_its_record_when_one_is_set(served: tuple[str, Path]) -> None:
    with socket.socket() as closed:  # a loopback port nobody listens on once this block ends
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {**_direct_cold_env(), "HTTP_PROXY": f"http://127.0.0.1:{port}"}
    loaded, out, status = _call(*served, ["--http1"], env)
    assert status == 1, out
    assert f"cannot connect to proxy 127.0.0.1:{port} (HTTP_PROXY)" in out
    assert "rpcctl.transport.proxy" in loaded


@contextlib.contextmanager
def _not_found_server() -> Iterator[str]:
    """A plain HTTP/1.1 server on 127.0.0.1 that answers every POST 404 with an HTML page; its URL."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotFound(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(404)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", "9")
            self.end_headers()
            self.wfile.write(b"not found")

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a_failed_call_still_names_the_http_status(served: tuple[str, Path]) -> None:
    """A server that answers 404 to every path: the error gives the reason phrase (http loaded)."""
    with _not_found_server() as url:
        loaded, out, status = _call(url, served[1], ["--http1"], _direct_cold_env())
    assert status != 0, out
    assert "HTTP 404 Not Found" in out
    assert "http" in loaded
