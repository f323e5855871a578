"""`rpcctl call` against hostile servers (tests/hostile/peers.py), over each protocol on HTTP/2.

Every case ends with the documented exit status (1 transport, 64 + code for an RPC error)
and one line on stderr, never a traceback, within the --timeout given.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.cli.raw_peers import serving
from tests.conftest import TEST_PROTO, TEST_PROTO_DIR
from tests.hostile.peers import KINDS
from tests.support.cli import run_cli

TRANSPORT, UNKNOWN, INVALID_ARGUMENT, DEADLINE, EXHAUSTED, INTERNAL, UNAVAILABLE = 1, 66, 67, 68, 72, 77, 78
PROTOCOLS = ("grpc", "grpc-web", "connect")
# kind: exit status for grpc, grpc-web, connect
EXPECTED = {
    "garbage": (TRANSPORT, TRANSPORT, TRANSPORT),
    "stall-after-settings": (DEADLINE, DEADLINE, DEADLINE),
    "drip": (DEADLINE, DEADLINE, DEADLINE),
    "4gib-prefix": (EXHAUSTED, EXHAUSTED, EXHAUSTED),
    "rst-mid-message": (INTERNAL, INTERNAL, INTERNAL),
    "goaway": (UNAVAILABLE, UNAVAILABLE, UNAVAILABLE),
    "half-message": (UNKNOWN, INVALID_ARGUMENT, INTERNAL),
    "html-502": (UNAVAILABLE, UNAVAILABLE, UNAVAILABLE),
    "gzip-bomb": (EXHAUSTED, EXHAUSTED, EXHAUSTED),
    "bad-status": (INTERNAL, INTERNAL, INTERNAL),
    "deep-json": (INTERNAL, INTERNAL, INTERNAL),
    "long-numbers": (UNKNOWN, UNKNOWN, UNKNOWN),
}
CASES = [pytest.param(kind, protocol, id=f"{kind}-{protocol}") for kind in EXPECTED for protocol in PROTOCOLS]
MESSAGE_LIMIT = 4096  # characters of a peer's status message kept (rpcctl.wire)


def _run(peer: Any, protocol: str, *, http: str = "--http2", method: str = "Echo") -> tuple[int, str]:
    """`rpcctl call` of a test method against `peer` (a raw_peers script maker): status, stderr."""
    with serving(peer) as port:
        result = run_cli(
            "call",
            f"http://127.0.0.1:{port}",
            f"rpcctl.test.v1.TestService/{method}",
            *("--protocol", protocol, http, "--codec", "proto"),
            *("--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_DIR)),
            *("--timeout", "1s", "-d", "{}"),
        )
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.exit_code, result.stderr


def _call(kind: str, protocol: str) -> tuple[int, str]:
    return _run(KINDS[kind](protocol), protocol)


@pytest.mark.parametrize(("kind", "protocol"), CASES)
def test_hostile_server(kind: str, protocol: str) -> None:
    status, stderr = _call(kind, protocol)
    assert len(stderr) < MESSAGE_LIMIT + 300, stderr
    assert status == EXPECTED[kind][PROTOCOLS.index(protocol)], stderr


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_1mib_header_is_refused_before_the_deadline(protocol: str) -> None:
    status, stderr = _call("1mib-header", protocol)
    assert status == INTERNAL, stderr
    assert "header list limit" in stderr


# HTTP/1.1 answers, for the protocols that run over it: kind: exit status for grpc-web, connect
H1_EXPECTED = {
    "garbage": (UNAVAILABLE, UNAVAILABLE),
    "html-502": (UNAVAILABLE, UNAVAILABLE),
    "half-message": (UNAVAILABLE, UNAVAILABLE),
    "4gib-length": (EXHAUSTED, EXHAUSTED),
    "bad-status": (UNAVAILABLE, UNAVAILABLE),
    "bad-chunk": (UNAVAILABLE, UNAVAILABLE),
    "deep-json": (INTERNAL, INTERNAL),
    "long-numbers": (UNKNOWN, UNKNOWN),
    "chunk-overflow": (UNAVAILABLE, UNAVAILABLE),
    "chunk-ext-flood": (UNAVAILABLE, UNAVAILABLE),
    "10k-headers": (UNAVAILABLE, UNAVAILABLE),
    "long-status-line": (UNAVAILABLE, UNAVAILABLE),
    "obs-fold": (UNAVAILABLE, UNAVAILABLE),
    "conflicting-length": (UNAVAILABLE, UNAVAILABLE),
    "10mb-error": (UNKNOWN, EXHAUSTED),
}
H1_CASES = [(kind, protocol) for kind in H1_EXPECTED for protocol in ("grpc-web", "connect")]


@pytest.mark.parametrize(("kind", "protocol"), H1_CASES, ids=[f"{k}-{p}-http1" for k, p in H1_CASES])
def test_hostile_http1_server(kind: str, protocol: str) -> None:
    from tests.hostile.h1_peers import h1_kinds

    status, stderr = _run(h1_kinds(protocol)[kind], protocol, http="--http1")
    assert len(stderr) < 600, stderr
    assert status == H1_EXPECTED[kind][("grpc-web", "connect").index(protocol)], stderr


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("deep-end-stream", INTERNAL),
        ("long-number-end-stream", INTERNAL),
        ("long-code-end-stream", UNKNOWN),
        ("deep-metadata-end-stream", INTERNAL),
    ],
)
def test_hostile_connect_end_stream(kind: str, status: int) -> None:
    from tests.hostile.peers import END_STREAMS, end_stream

    got, stderr = _run(end_stream(END_STREAMS[kind]), "connect", method="Count")
    assert len(stderr) < 600, stderr
    assert got == status, stderr
