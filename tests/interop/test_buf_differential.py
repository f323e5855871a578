"""Differential tests: the same call through rpcctl and `buf curl` gives the same JSON."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.interop

PROTO = "tests/protos/rpcctl/test/v1/test.proto"
KITCHEN = {
    "text": "t",
    "big": "-9007199254740993",
    "ubig": "18446744073709551615",
    "blob": "AP8=",
    "ratio": 0.5,
    "flag": True,
    "color": "COLOR_GREEN",
    "inner": {"name": "n", "values": [1, 2]},
    "counts": {"a": "1"},
    "byId": {"7": {"name": "seven"}},
    "choiceText": "c",
    "at": "2024-01-02T03:04:05.500Z",
    "took": "1.500s",
    "extra": {"k": [1, "x", None]},
    "maybe": "m",
    "tags": ["x", "y"],
}
CASES = [
    ("Echo", {"message": "hi", "kitchen": KITCHEN}),
    ("Count", {"count": 3}),
    ("Lookup", {"message": "look"}),
]
BUF_PROTOCOL = {"connect": "connect", "grpc-web": "grpcweb"}


def _buf(
    buf_path: Path, schema: Path, url: str, method: str, data: Any, protocol: str, http2: bool
) -> list[Any]:
    argv = [
        str(buf_path),
        "curl",
        "--schema",
        str(schema),
        "--protocol",
        BUF_PROTOCOL[protocol],
        "-d",
        json.dumps(data),
        f"{url}/rpcctl.test.v1.TestService/{method}",
    ]
    if http2:
        argv.insert(2, "--http2-prior-knowledge")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    decoder = json.JSONDecoder()
    text, docs, pos = out.stdout.strip(), [], 0
    while pos < len(text):
        doc, end = decoder.raw_decode(text, pos)
        docs.append(doc)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return docs


@pytest.mark.parametrize("http2", [False, True])
@pytest.mark.parametrize("protocol", ["connect", "grpc-web"])
@pytest.mark.parametrize(("method", "data"), CASES)
def test_same_json_as_buf_curl(
    node_peer: Any,
    buf_path: Path,
    test_descriptor_set: Path,
    method: str,
    data: Any,
    protocol: str,
    http2: bool,
) -> None:
    theirs = _buf(buf_path, test_descriptor_set, node_peer.base_url, method, data, protocol, http2)
    ours = run_cli(
        "call",
        node_peer.base_url,
        method,
        "--proto",
        PROTO,
        "--protocol",
        protocol,
        "--http2" if http2 else "--http1",
        "-d",
        json.dumps(data),
    )
    assert ours.exit_code == 0, ours.stderr
    mine = ours.json_lines
    for doc in (*theirs, *mine):
        if isinstance(doc, dict):
            doc.pop("headers", None)  # the request headers differ by client, by design
    assert mine == theirs
