"""`buf curl` (connect-go's client) against the interop peers: Connect, gRPC, gRPC-Web."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from interop_schema import KITCHEN, RUNNER_PREFIX, RUNNER_SERVICE, TEST_SERVICE

from tests.support.external import json_docs

pytestmark = pytest.mark.interop


@pytest.fixture(params=["node_peer", "connect_python_peer"])
def peer(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


def _path(method: str) -> str:
    return f"/{TEST_SERVICE}/{method}"


def _buf(buf: Path, schema_path: Path, url: str, *args: str, stdin: str | None = None):
    env = dict(os.environ, BUF_CACHE_DIR=str(schema_path.parent / "buf-cache"))
    argv = [str(buf), "curl", "--schema", str(schema_path), *args, url]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60, check=False, env=env)


@pytest.mark.parametrize(
    "flags",
    [
        ["--protocol", "connect"],
        ["--protocol", "connect", "--http2-prior-knowledge"],
        ["--protocol", "grpcweb"],
        ["--protocol", "grpcweb", "--http2-prior-knowledge"],
        ["--protocol", "grpc", "--http2-prior-knowledge"],
    ],
    ids=["connect-h1", "connect-h2c", "grpcweb-h1", "grpcweb-h2c", "grpc-h2c"],
)
def test_buf_curl_unary_and_server_stream(peer, buf_path, test_descriptor_set, flags):
    data = json.dumps({"message": "hi", "kitchen": KITCHEN})
    done = _buf(buf_path, test_descriptor_set, peer.base_url + _path("Echo"), *flags, "-d", data)
    assert done.returncode == 0, done.stderr
    (res,) = json_docs(done.stdout)
    assert res["message"] == "hi"
    assert res["kitchen"]["any"] == KITCHEN["any"]
    done = _buf(buf_path, test_descriptor_set, peer.base_url + _path("Count"), *flags, "-d", '{"count": 3}')
    assert done.returncode == 0, done.stderr
    assert json_docs(done.stdout) == [{"n": 1}, {"n": 2}, {"n": 3}]


@pytest.mark.parametrize("protocol", ["connect", "grpc", "grpcweb"])
def test_buf_curl_bidi_and_error(peer, buf_path, test_descriptor_set, protocol):
    flags = ["--protocol", protocol, "--http2-prior-knowledge"]
    chat = peer.base_url + _path("Chat")
    done = _buf(
        buf_path,
        test_descriptor_set,
        chat,
        *flags,
        "-d",
        "@-",
        stdin='{"message":"a"}\n{"message":"b"}\n',
    )
    assert done.returncode == 0, done.stderr
    assert json_docs(done.stdout) == [{"message": "a", "seq": 1}, {"message": "b", "seq": 2}]
    fail = peer.base_url + _path("Fail")
    done = _buf(buf_path, test_descriptor_set, fail, *flags, "-d", '{"code": 5, "message": "gone"}')
    assert done.returncode != 0
    (err,) = json_docs(done.stderr)
    assert (err["code"], err["message"]) == ("not_found", "gone")


def test_buf_curl_runner_ping_under_prefix_and_at_root(node_peer, buf_path, test_descriptor_set):
    # The Node peer mounts RunnerService both under the prefix and at the root (for native gRPC).
    for path in (f"{RUNNER_PREFIX}/{RUNNER_SERVICE}/Ping", f"/{RUNNER_SERVICE}/Ping"):
        done = _buf(buf_path, test_descriptor_set, node_peer.base_url + path, "-d", '{"data": "pong"}')
        assert done.returncode == 0, done.stderr
        assert json_docs(done.stdout) == [{"data": "pong"}]
    other = node_peer.base_url + f"/api/v2/elsewhere/{RUNNER_SERVICE}/Ping"
    done = _buf(buf_path, test_descriptor_set, other, "-d", '{"data": "pong"}')
    assert done.returncode != 0  # any other prefix is not served


def test_buf_curl_against_sonora(sonora_peer, buf_path, test_descriptor_set):
    # sonora speaks gRPC-Web over HTTP/1.1 only: the reference client agrees it works there.
    flags = ["--protocol", "grpcweb"]
    done = _buf(
        buf_path, test_descriptor_set, sonora_peer.base_url + _path("Echo"), *flags, "-d", '{"message": "hi"}'
    )
    assert done.returncode == 0, done.stderr
    assert json_docs(done.stdout)[0]["message"] == "hi"
    done = _buf(
        buf_path, test_descriptor_set, sonora_peer.base_url + _path("Count"), *flags, "-d", '{"count": 2}'
    )
    assert done.returncode == 0, done.stderr
    assert json_docs(done.stdout) == [{"n": 1}, {"n": 2}]
    fail = sonora_peer.base_url + _path("Fail")
    done = _buf(buf_path, test_descriptor_set, fail, *flags, "-d", '{"code": 5, "message": "gone"}')
    (err,) = json_docs(done.stderr)
    assert (err["code"], err["message"]) == ("not_found", "gone")
