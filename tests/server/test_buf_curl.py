"""`buf curl` (connect-go's client) against rpcctl's server, the schema found by reflection."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rpcctl.server.serve import Server
from tests.support.external import json_docs, unavailable

REPO = Path(__file__).resolve().parents[2]
PINNED_BUF = REPO / "tests" / "interop" / "node_peer" / "node_modules" / ".bin" / "buf"
PATH = "/rpcctl.test.v1.TestService/"
FLAGS = {
    "connect-h1": ["--protocol", "connect"],
    "connect-h2c": ["--protocol", "connect", "--http2-prior-knowledge"],
    "grpcweb-h1": ["--protocol", "grpcweb"],
    "grpcweb-h2c": ["--protocol", "grpcweb", "--http2-prior-knowledge"],
    "grpc-h2c": ["--protocol", "grpc", "--http2-prior-knowledge"],
}


@pytest.fixture(scope="module")
def buf() -> Path:
    """The pinned buf (tests/interop/install_peers.sh); skipped when absent unless CI=true."""
    found = PINNED_BUF if PINNED_BUF.exists() and shutil.which("node") else shutil.which("buf")
    if found is None:
        reason = "buf is not installed: run tests/interop/install_peers.sh"
        unavailable(reason)
    return Path(found)


def _buf(buf: Path, tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BUF_CACHE_DIR=str(tmp_path / "buf-cache"))
    argv = [str(buf), "curl", *args]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60, check=False, env=env)


@pytest.mark.parametrize("flags", FLAGS.values(), ids=FLAGS.keys())
def test_unary_and_server_stream_via_reflection(buf, tmp_path, threaded: Server, flags):
    data = json.dumps({"message": "hi", "kitchen": {"text": "t", "big": "9007199254740993", "blob": "AAE="}})
    done = _buf(buf, tmp_path, *flags, "-d", data, threaded.url + PATH + "Echo")
    assert done.returncode == 0, done.stderr
    (res,) = json_docs(done.stdout)
    assert res["message"] == "hi"
    assert res["kitchen"] == {"text": "t", "big": "9007199254740993", "blob": "AAE="}
    done = _buf(buf, tmp_path, *flags, "-d", '{"count": 3}', threaded.url + PATH + "Count")
    assert done.returncode == 0, done.stderr
    assert json_docs(done.stdout) == [{"n": 1}, {"n": 2}, {"n": 3}]


@pytest.mark.parametrize("protocol", ["connect", "grpc", "grpcweb"])
def test_bidi_client_stream_and_error(buf, tmp_path, threaded: Server, protocol):
    flags = ["--protocol", protocol, "--http2-prior-knowledge"]
    stdin = '{"message":"a"}\n{"message":"b"}\n'
    done = _buf(buf, tmp_path, *flags, "-d", "@-", threaded.url + PATH + "Chat", stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert json_docs(done.stdout) == [{"message": "a", "seq": 1}, {"message": "b", "seq": 2}]
    done = _buf(buf, tmp_path, *flags, "-d", "@-", threaded.url + PATH + "Sum", stdin='{"n": 40} {"n": 2}')
    assert done.returncode == 0, done.stderr
    assert json_docs(done.stdout) == [{"total": "42", "messages": 2}]
    body = '{"code": 5, "message": "gone", "withDetails": true}'
    done = _buf(buf, tmp_path, *flags, "-d", body, threaded.url + PATH + "Fail")
    assert done.returncode != 0
    (err,) = json_docs(done.stderr)
    assert (err["code"], err["message"]) == ("not_found", "gone")
    assert [d["type"] for d in err["details"]] == ["google.rpc.ErrorInfo", "google.rpc.BadRequest"]


@pytest.mark.parametrize("flags", FLAGS.values(), ids=FLAGS.keys())
def test_list_methods_via_reflection(buf, tmp_path, threaded: Server, flags):
    done = _buf(buf, tmp_path, *flags, "--list-methods", threaded.url)
    assert done.returncode == 0, done.stderr
    methods = done.stdout.split()
    assert {
        f"rpcctl.test.v1.TestService/{m}" for m in ("Echo", "Lookup", "Fail", "Count", "Sum", "Chat")
    } <= set(methods)
    assert "grpc.health.v1.Health/Check" in methods
    assert "grpc.reflection.v1.ServerReflection/ServerReflectionInfo" in methods


def test_health_check(buf, tmp_path, threaded: Server):
    done = _buf(
        buf,
        tmp_path,
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        threaded.url + "/grpc.health.v1.Health/Check",
    )
    assert done.returncode == 0, done.stderr
    assert json_docs(done.stdout) == [{"status": "SERVING"}]
