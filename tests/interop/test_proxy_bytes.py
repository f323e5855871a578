"""The recording proxy relays bytes: direct and proxied answers are the same, byte for byte.

Against connect-node (`node_peer`), each case is sent twice as a raw HTTP request (rpcctl's
transport, no protocol layer): to the peer, and to a recording proxy in front of it whose
upstream hop uses the same HTTP version as the client. Status, headers (minus the hop's own:
date, lengths), body and trailers must be equal: message bytes with unknown fields (connect-node
keeps them in the `kitchen` it echoes), Connect error JSON with its details' `debug` objects,
end-stream JSON, gRPC-Web trailer frames, `grpc-status-details-bin`, compressed bodies. And the
peer's own buf curl output, direct and proxied, is the same for the error with details.
"""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rpcctl.protocols.exchange import RequestHead
from rpcctl.transport.pool import HttpPool
from rpcctl.transport.target import ChannelSettings, Target
from rpcctl.wire.metadata import Metadata
from tests.proxy.serving import RunningProxy, running_proxy
from tests.support.schema import compile_test_schema

pytestmark = pytest.mark.interop

SVC = "/rpcctl.test.v1.TestService/"
# Headers each hop writes for itself (RFC 9110 §7.6.1; the server's own date).
HOP = {"date", "content-length", "connection", "keep-alive", "transfer-encoding"}
BUDGET_S = 20.0


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _envelope(message: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(message)) + message


# EchoRequest{message, kitchen: Kitchen{text, and fields 100 and 101 that no schema knows}}.
KITCHEN = _field(1, b"k") + _field(100, 42) + _field(101, b"zz")
ECHO = _field(1, b"hi \xe2\x98\xba") + _field(3, KITCHEN)
BIG_ECHO = _field(1, b"x" * 4000) + _field(3, KITCHEN)
FAIL = _field(1, 5) + _field(2, b"gone") + _field(3, 1)
COUNT_FAILS = _field(1, 3) + _field(3, 9)
FAIL_JSON = json.dumps({"code": 5, "message": "gone", "withDetails": True}).encode()


@dataclass(frozen=True)
class Case:
    """One raw request."""

    id: str
    http2: bool
    path: str
    content_type: str
    body: bytes
    extra: tuple[tuple[str, str], ...] = ()
    method: str = "POST"


def _grpc(name: str, path: str, body: bytes) -> Case:
    headers = (("te", "trailers"),)
    return Case(name, True, path, "application/grpc", body, headers)


CASES = [
    *(
        Case(f"connect-unary-proto-unknown-fields-{v}", h2, SVC + "Echo", "application/proto", ECHO)
        for v, h2 in (("h1", False), ("h2", True))
    ),
    *(
        Case(f"connect-error-json-debug-{v}", h2, SVC + "Fail", "application/json", FAIL_JSON)
        for v, h2 in (("h1", False), ("h2", True))
    ),
    Case(
        "connect-unary-gzip",
        False,
        SVC + "Echo",
        "application/proto",
        BIG_ECHO,
        (("accept-encoding", "gzip"),),
    ),
    Case(
        "connect-stream-end-error",
        True,
        SVC + "Count",
        "application/connect+proto",
        _envelope(COUNT_FAILS),
    ),
    Case(
        "connect-client-stream",
        True,
        SVC + "Sum",
        "application/connect+proto",
        _envelope(_field(1, 2)) + _envelope(_field(1, 3)),
    ),
    Case("grpc-web-unknown-fields", False, SVC + "Echo", "application/grpc-web+proto", _envelope(ECHO)),
    Case("grpc-web-error-details", False, SVC + "Fail", "application/grpc-web+proto", _envelope(FAIL)),
    *(
        Case(
            f"connect-get-{v}",
            h2,
            SVC + "Lookup?encoding=json&message=%7B%22message%22%3A%22g%22%7D&connect=v1",
            "",
            b"",
            method="GET",
        )
        for v, h2 in (("h1", False), ("h2", True))
    ),
    _grpc("grpc-unknown-fields", SVC + "Echo", _envelope(ECHO)),
    _grpc("grpc-status-details-bin", SVC + "Fail", _envelope(FAIL)),
    _grpc("grpc-server-stream-error", SVC + "Count", _envelope(COUNT_FAILS)),
    _grpc("grpc-bidi", SVC + "Chat", _envelope(ECHO) + _envelope(_field(1, b"second"))),
]


@dataclass(frozen=True)
class Answer:
    """A raw HTTP response."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    trailers: list[tuple[str, str]]


async def _exchange(url: str, case: Case) -> Answer:
    pool = HttpPool(ChannelSettings(Target.parse(url), http2=case.http2))
    try:
        async with asyncio.timeout(BUDGET_S):
            version = await pool.choose(bidi=False)
            headers = (("user-agent", "bytes-test"), *case.extra)
            if case.content_type:
                headers = (("content-type", case.content_type), *headers)
            exchange = await pool.open(RequestHead(case.method, case.path, headers), case.body, version)
            status, meta = await exchange.response()
            chunks = []
            while (chunk := await exchange.read()) is not None:
                chunks.append(chunk)
            return Answer(status, _pairs(exchange, "headers", meta), b"".join(chunks), _trailers(exchange))
    finally:
        await pool.aclose()


def _pairs(exchange: Any, attribute: str, meta: Metadata) -> list[tuple[str, str]]:
    raw = getattr(exchange, attribute, None)  # HTTP/2 keeps the header list as it came
    pairs = (
        [(k.decode(), v.decode()) for k, v in raw if not k.startswith(b":")]
        if raw is not None
        else meta.to_wire_pairs(strict=False)
    )
    return sorted((k, v) for k, v in pairs if k not in HOP)


def _trailers(exchange: Any) -> list[tuple[str, str]]:
    return _pairs(exchange, "raw_trailers", exchange.trailers)


@pytest.fixture(scope="module")
def proxies(node_peer: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, RunningProxy]]:
    """Recording proxies in front of the peer, by the upstream hop's HTTP version (True: h2c):
    each case goes through the one whose upstream hop speaks the client's version, so that the
    hop headers the peer echoes match."""
    scratch = tmp_path_factory.mktemp("bytes")
    schema = compile_test_schema()
    with (
        running_proxy(node_peer.base_url, schema, scratch / "h1.jsonl", upstream_http2=False) as h1,
        running_proxy(node_peer.base_url, schema, scratch / "h2.jsonl", upstream_http2=True) as h2,
    ):
        yield {False: h1, True: h2}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_direct_and_proxied_bytes_are_equal(
    node_peer: Any, proxies: dict[bool, RunningProxy], case: Case
) -> None:
    direct = asyncio.run(_exchange(node_peer.base_url, case))
    through = asyncio.run(_exchange(proxies[case.http2].url, case))
    assert direct.status == 200 or direct.body  # a real answer, not an empty refusal
    assert through == direct


@pytest.mark.parametrize("http2", [False, True], ids=["h1", "h2"])
def test_debug_objects_cross(proxies: dict[bool, RunningProxy], http2: bool) -> None:
    """The case the issue names: connect-node's `debug` beside each detail's type and value."""
    case = next(c for c in CASES if c.id.startswith("connect-error-json-debug") and c.http2 == http2)
    body = json.loads(asyncio.run(_exchange(proxies[http2].url, case)).body)
    assert [d["debug"]["reason"] for d in body["details"][:1]] == ["TEST_FAILURE"]


@pytest.mark.parametrize("protocol", ["connect", "grpcweb", "grpc"])
def test_buf_curl_direct_and_proxied_agree(
    node_peer: Any,
    proxies: dict[bool, RunningProxy],
    buf_path: Path,
    test_descriptor_set: Path,
    protocol: str,
) -> None:
    outputs = []
    for url in (node_peer.base_url, proxies[True].url):
        result = subprocess.run(
            [
                str(buf_path), "curl", "--schema", str(test_descriptor_set), "--protocol", protocol,
                "--http2-prior-knowledge", "-d", FAIL_JSON.decode(), url + SVC + "Fail",
            ],
            capture_output=True, text=True, timeout=BUDGET_S, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        outputs.append((result.returncode, result.stdout, result.stderr))
    assert outputs[0][0] == 40  # buf curl's exit for NOT_FOUND
    if protocol == "connect":  # only Connect's error JSON carries `debug`
        assert '"debug"' in outputs[0][1] + outputs[0][2]
    assert outputs[1] == outputs[0]
