"""Differential tests: the same call through rpcctl and `buf curl` prints the same messages and
the same error, for every call kind × protocol × codec × HTTP version each peer serves.

Peers: connect-node and connect-python (Connect, gRPC, gRPC-Web; HTTP/1.1 and h2c), sonora
(gRPC-Web over HTTP/1.1; unary and server streaming; proto only). Both tools read the same
descriptor set. What legitimately differs, and is normalised here (nothing else is):

- `headers` in EchoResponse are the request headers the server saw: they differ by client,
  except the user metadata both send (`-H`), which is compared, sorted. sonora answers HTTP
  500 to any `-bin` header whoever sends it, so it gets text metadata only.
- buf curl always speaks proto; rpcctl's `--codec json` is compared with the same answer, since
  the codec must not change what the messages say.
- buf curl needs HTTP/2 for bidi streams and for gRPC; rpcctl's bidi over HTTP/1.1 (which
  connect-python serves, with a full-duplex HTTP/1.1 body) is compared with buf curl's h2c run.
- Errors: buf curl prints Connect's error JSON (lower-case code, details as
  `{type, value, debug}`); rpcctl prints `CODE (n): message` and each detail as its JSON with
  `@type`. The code, message and decoded details are compared.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from google.protobuf import json_format
from interop_schema import KITCHEN, TEST_SERVICE, load_schema

from tests.support.cli import CliResult, run_cli
from tests.support.external import json_docs

pytestmark = pytest.mark.interop

BUF_PROTOCOL = {"connect": "connect", "grpc": "grpc", "grpc-web": "grpcweb"}
BUF_TIMEOUT_S = 60.0
H1, H2 = "--http1", "--http2"


class Serves(NamedTuple):
    """What one peer serves: protocols with their HTTP versions, codecs, call kinds."""

    protocols: dict[str, tuple[str, ...]]
    codecs: tuple[str, ...]
    methods: tuple[str, ...]
    bidi_over_http1: bool


ALL_KINDS = ("Echo", "Lookup", "Count", "Sum", "Chat", "Fail", "CountFail")
PEERS = {
    "node_peer": Serves(
        {"connect": (H1, H2), "grpc": (H2,), "grpc-web": (H1, H2)}, ("proto", "json"), ALL_KINDS, False
    ),
    "connect_python_peer": Serves(
        {"connect": (H1, H2), "grpc": (H2,), "grpc-web": (H1, H2)}, ("proto", "json"), ALL_KINDS, True
    ),
    "sonora_peer": Serves({"grpc-web": (H1,)}, ("proto",), ("Echo", "Count", "Fail", "CountFail"), False),
}
CALLS: dict[str, tuple[str, Any]] = {
    "Echo": ("Echo", {"message": "hi ☺", "kitchen": KITCHEN}),
    "Lookup": ("Lookup", {"message": "look"}),
    "Count": ("Count", {"count": 3}),
    "Sum": ("Sum", [{"n": 1}, {"n": 2}, {"n": 39}]),
    "Chat": ("Chat", [{"message": "a"}, {"message": "b"}]),
    "Fail": ("Fail", {"code": 9, "message": "nope: 100% ☺", "with_details": True}),
    "CountFail": ("Count", {"count": 2, "fail_code": 10}),
}
# sonora has no error details (its abort() takes a code and a message).
PLAIN_FAIL = {"code": 9, "message": "nope: 100% ☺"}


def _cases() -> list[Any]:
    cases = []
    for peer, serves in PEERS.items():
        for protocol, versions in serves.protocols.items():
            for http in versions:
                for codec in serves.codecs:
                    for kind in serves.methods:
                        if kind == "Chat" and http == H1 and not serves.bidi_over_http1:
                            continue  # refused with HTTP 505: tests/interop/test_matrix_calls.py
                        short = {
                            "node_peer": "node",
                            "connect_python_peer": "python",
                            "sonora_peer": "sonora",
                        }
                        case_id = f"{short[peer]}-{protocol}-{http[2:]}-{codec}-{kind}"
                        cases.append(pytest.param(peer, protocol, http, codec, kind, id=case_id))
    return cases


def _data(data: Any) -> str:
    return "\n".join(json.dumps(d) for d in data) if isinstance(data, list) else json.dumps(data)


class BufAnswer(NamedTuple):
    """What buf curl printed: messages on stdout, the error JSON on stderr, its exit status."""

    messages: list[Any]
    error: dict[str, Any] | None
    returncode: int


_BUF_ANSWERS: dict[tuple[str, ...], BufAnswer] = {}


def _native(buf: Path) -> Path:
    """The Go binary behind npm's node launcher (node_modules/@bufbuild/buf-<os>-<arch>), which
    saves a Node start (≈0.3 s) per call; the launcher itself when there is none."""
    packages = buf.resolve().parent.parent.parent  # node_modules/@bufbuild
    found = sorted(packages.glob("buf-*/bin/buf"))
    return found[0] if len(found) == 1 and os.access(found[0], os.X_OK) else buf


# User metadata on every call: the server must see the same from both clients.
METADATA = ("x-diff: a b", "x-diff-bin: AAEC/w")
_NO_BINARY_METADATA: set[str] = set()


def _metadata(url: str) -> tuple[str, ...]:
    """sonora answers HTTP 500 to any `-bin` header, whoever sends it: text metadata only there."""
    return METADATA[:1] if url in _NO_BINARY_METADATA else METADATA


def _buf(buf: Path, schema: Path, url: str, method: str, data: str, protocol: str, http: str) -> BufAnswer:
    """buf curl's answer, run once per (URL, protocol, HTTP version, request): it has no codec option."""
    # buf curl needs HTTP/2 for bidi streams and for gRPC.
    http2 = http == H2 or method == "Chat" or protocol == "grpc"
    key = (url, method, data, protocol, str(http2))
    if key not in _BUF_ANSWERS:
        argv = [
            str(_native(buf)),
            "curl",
            "--schema",
            str(schema),
            "--protocol",
            BUF_PROTOCOL[protocol],
            "-d",
            "@-",
        ]
        for header in _metadata(url):
            argv += ["-H", header]
        if http2:
            argv.append("--http2-prior-knowledge")
        argv.append(f"{url}/{TEST_SERVICE}/{method}")
        env = dict(os.environ, BUF_CACHE_DIR=str(schema.parent / "buf-cache"))
        out = subprocess.run(
            argv, input=data, capture_output=True, text=True, timeout=BUF_TIMEOUT_S, check=False, env=env
        )
        error = None
        if out.returncode != 0:
            (error,) = json_docs(out.stderr)
        _BUF_ANSWERS[key] = BufAnswer(json_docs(out.stdout), error, out.returncode)
    return _BUF_ANSWERS[key]


def _without_headers(docs: list[Any]) -> list[Any]:
    return [{k: v for k, v in d.items() if k != "headers"} if isinstance(d, dict) else d for d in docs]


def _rpcctl_error(result: CliResult) -> dict[str, Any]:
    """rpcctl's error line and detail lines, in buf curl's shape."""
    lines = result.stderr.splitlines()
    head = next(line for line in lines if line.startswith("error: "))
    name, _, message = head.removeprefix("error: ").partition(": ")
    details = []
    for line in lines:
        if line.startswith("  detail: "):
            detail = json.loads(line.removeprefix("  detail: "))
            type_name = detail.pop("@type").rsplit("/", 1)[1]
            details.append({"type": type_name, "debug": detail})
    error: dict[str, Any] = {"code": name.split(" ")[0].lower(), "message": message}
    if details:
        error["details"] = details
    return error


def _buf_error(error: dict[str, Any], schema_path: Path) -> dict[str, Any]:
    """buf curl's error with each detail decoded: a Connect error JSON carries the server's own
    `debug` rendering; from grpc-status-details-bin buf prints only `type` and `value`."""
    shaped = {"code": error["code"], "message": error.get("message", "")}
    if error.get("details"):
        schema = load_schema(schema_path)
        shaped["details"] = []
        for detail in error["details"]:
            if "debug" not in detail:
                value = base64.b64decode(detail["value"] + "=" * (-len(detail["value"]) % 4))
                message = schema.message(detail["type"]).FromString(value)
                detail = {**detail, "debug": json_format.MessageToDict(message)}
            shaped["details"].append({"type": detail["type"], "debug": detail["debug"]})
    return shaped


@pytest.mark.parametrize(("peer", "protocol", "http", "codec", "kind"), _cases())
def test_same_output_as_buf_curl(
    request: pytest.FixtureRequest,
    buf_path: Path,
    test_descriptor_set: Path,
    peer: str,
    protocol: str,
    http: str,
    codec: str,
    kind: str,
) -> None:
    server = request.getfixturevalue(peer)
    if peer == "sonora_peer":
        _NO_BINARY_METADATA.add(server.base_url)
    method, payload = CALLS[kind]
    if peer == "sonora_peer" and kind == "Fail":
        payload = PLAIN_FAIL
    data = _data(payload)
    theirs = _buf(buf_path, test_descriptor_set, server.base_url, method, data, protocol, http)
    ours = run_cli(
        "call", server.base_url, f"{TEST_SERVICE}/{method}", "--protoset", str(test_descriptor_set),
        "--protocol", protocol, "--codec", codec, http, "--timeout", "20s", "-d", "@-",
        *(arg for header in _metadata(server.base_url) for arg in ("-H", header)),
        stdin=data.encode(),
    )  # fmt: skip
    assert _without_headers(ours.json_lines) == _without_headers(theirs.messages), ours.stderr
    if theirs.error is None:
        assert theirs.returncode == 0
        assert ours.exit_code == 0, ours.stderr
        assert theirs.messages  # every successful call here answers something
        if kind == "Echo":
            (mine,), (seen,) = ours.json_lines, theirs.messages
            # Sorted: the order of differently named fields carries no meaning (RFC 9110 §5.3),
            # and Go's HTTP/2 client sends them in map order.
            users = sorted(h for h in seen["headers"] if h.startswith("x-diff"))
            assert users == sorted(h for h in mine["headers"] if h.startswith("x-diff"))
            assert users == sorted(_metadata(server.base_url))
        return
    assert ours.exit_code != 0, ours.stdout
    assert _rpcctl_error(ours) == _buf_error(theirs.error, test_descriptor_set)
    expected_code = {"Fail": 9, "CountFail": 10}[kind]
    assert ours.exit_code == 64 + expected_code, ours.stderr
