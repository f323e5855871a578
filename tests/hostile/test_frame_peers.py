"""`rpcctl call` against HTTP/2 frame abuse and odd status fields (tests/hostile/frame_peers.py).

Each case ends with the documented exit status and one error line on stderr (then a line per
status detail; no traceback, no line a peer forged), each bounded in length, within --timeout.
"""

from __future__ import annotations

import pytest

from tests.cli.raw_peers import serving
from tests.conftest import TEST_PROTO, TEST_PROTO_DIR
from tests.hostile.frame_peers import FRAME_KINDS
from tests.support.cli import run_cli

OK, UNKNOWN, INVALID_ARGUMENT, EXHAUSTED, INTERNAL = 0, 66, 67, 72, 77
PROTOCOLS = ("grpc", "grpc-web", "connect")
# kind: exit status for grpc, grpc-web, connect
EXPECTED = {
    "trailers-only-garbage": (UNKNOWN, UNKNOWN, INTERNAL),
    "huge-details": (INVALID_ARGUMENT, INVALID_ARGUMENT, INTERNAL),
    "10mb-error": (EXHAUSTED, EXHAUSTED, EXHAUSTED),
    "trailer-4gib": (UNKNOWN, EXHAUSTED, EXHAUSTED),
    "control-chars": (INVALID_ARGUMENT, INVALID_ARGUMENT, INTERNAL),
    "invalid-utf8": (INVALID_ARGUMENT, INVALID_ARGUMENT, INTERNAL),
    "10k-headers": (INTERNAL, INTERNAL, INTERNAL),
    "settings-flood": (OK, OK, OK),
    "ping-flood": (OK, OK, OK),
    "window-overflow": (INTERNAL, INTERNAL, INTERNAL),
    "stream-window-overflow": (INTERNAL, INTERNAL, INTERNAL),
    "continuation-flood": (INTERNAL, INTERNAL, INTERNAL),
    "hpack-bomb": (INTERNAL, INTERNAL, INTERNAL),
}
CASES = [pytest.param(kind, protocol, id=f"{kind}-{protocol}") for kind in EXPECTED for protocol in PROTOCOLS]
STDERR_LIMIT = 4096 + 300  # a peer's text is clipped to 4,096 characters (rpcctl.wire)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("kind", "protocol"), CASES)
def test_frame_abuse(kind: str, protocol: str) -> None:
    # A Connect end-stream frame exists only in streaming answers.
    method = "Count" if kind == "trailer-4gib" and protocol == "connect" else "Echo"
    with serving(FRAME_KINDS[kind](protocol)) as port:
        result = run_cli(
            "call",
            f"http://127.0.0.1:{port}",
            f"rpcctl.test.v1.TestService/{method}",
            *("--protocol", protocol, "--http2", "--codec", "proto"),
            *("--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_DIR)),
            *("--timeout", "2s", "-d", "{}"),
        )
    stderr = result.stderr
    assert result.exit_code == EXPECTED[kind][PROTOCOLS.index(protocol)], stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    if result.exit_code:
        assert stderr.startswith("error: ") and stderr.endswith("\n"), stderr
    # After the error line, only rpcctl's own detail lines: a peer's newline forges none.
    assert all(line.startswith("  detail: ") for line in lines[1:]), stderr[:300]
    assert all(len(line) < STDERR_LIMIT for line in lines), stderr[:300]


@pytest.mark.timeout(60)
def test_pings_faster_than_their_acks_are_read() -> None:
    # Each PING's acknowledgement waited in the client's write buffer: 3,000,000 unread
    # PINGs took the client from 34 MB to 73 MB RSS before the peer gave up.
    from tests.hostile.frame_peers import unread_pings

    with serving(unread_pings("grpc")) as port:
        result = run_cli(
            "call",
            f"http://127.0.0.1:{port}",
            "rpcctl.test.v1.TestService/Echo",
            *("--protocol", "grpc", "--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_DIR)),
            *("--timeout", "20s", "-d", "{}"),
        )
    assert result.exit_code == INTERNAL, result.stderr
    assert "acknowledgements" in result.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_verbose_shows_a_hostile_header_escaped(protocol: str) -> None:
    # With -v the call failed on a response header that the call without -v ignores, and
    # a newline in a header value would forge a line of -v output.
    from tests.hostile.frame_peers import header_control_chars

    with serving(header_control_chars(protocol)) as port:
        result = run_cli(
            "call",
            "-v",
            f"http://127.0.0.1:{port}",
            "rpcctl.test.v1.TestService/Echo",
            *("--protocol", protocol, "--http2", "--codec", "proto"),
            *("--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_DIR)),
            *("--timeout", "2s", "-d", "{}"),
        )
    assert result.exit_code == 0, result.stderr
    assert not any(c in result.stderr for c in "\x1b\x00\r"), repr(result.stderr)
    assert "\nerror: forged" not in result.stderr
    assert "<   x-a: a\\x0d\\nerror: forged\\x00\\x1b[31m" in result.stderr
