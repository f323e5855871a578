"""`rpcctl bench` (one call) against hostile servers: a peer's status message is escaped in the
report and on stderr (no ESC, NUL or CR, no forged line), and the run ends with exit 1."""

from __future__ import annotations

import pytest

from tests.cli.raw_peers import serving
from tests.conftest import TEST_PROTO, TEST_PROTO_DIR
from tests.hostile.frame_peers import FRAME_KINDS
from tests.support.cli import run_cli


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["control-chars", "invalid-utf8", "continuation-flood"])
def test_one_bench_call_against_a_hostile_server(kind: str) -> None:
    with serving(FRAME_KINDS[kind]("grpc")) as port:
        result = run_cli(
            "bench",
            f"http://127.0.0.1:{port}",
            "rpcctl.test.v1.TestService/Echo",
            *("--protocol", "grpc", "--http2", "--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_DIR)),
            *("--timeout", "3s", "-d", "{}", "-n", "1", "-c", "1", "--workers", "1", "-O", "summary"),
        )
    assert result.exit_code == 1, result.stderr
    both = result.stdout + result.stderr
    assert not any(c in both for c in "\x1b\x00\r"), repr(both)
    assert "\nerror: forged" not in both and "\nx-injected" not in both
    assert "Traceback" not in both
