"""The recording proxy's upstream side against hostile servers: the client behind the proxy gets
an error, never a success, when the upstream's answer breaks off, and the proxy stays up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.attacks.targets import start_proxy
from tests.cli.raw_peers import serving
from tests.conftest import TEST_PROTO, TEST_PROTO_DIR
from tests.hostile.frame_peers import FRAME_KINDS
from tests.hostile.peers import KINDS
from tests.support.cli import run_cli

UNAVAILABLE, INTERNAL = 78, 77


def _through_proxy(tmp_path: Path, peer: object, protocol: str, http: str) -> tuple[int, str, str]:
    with serving(peer) as port:  # type: ignore[arg-type]
        proxy = start_proxy(f"http://127.0.0.1:{port}", tmp_path / "c.jsonl")
        try:
            result = run_cli(
                "call",
                proxy.url,
                "rpcctl.test.v1.TestService/Echo",
                *("--protocol", protocol, http, "--codec", "proto"),
                *("--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_DIR)),
                *("--timeout", "5s", "-d", "{}"),
            )
            alive = proxy.process.poll() is None
        finally:
            proxy.stop()
    assert alive and "Traceback" not in proxy.stderr, proxy.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("http", ["--http2", "--http1"])
def test_a_connect_answer_cut_off_upstream_is_an_error_behind_the_proxy(tmp_path: Path, http: str) -> None:
    # The upstream declares a 4 GiB body, sends 1 KiB and closes: the proxy recorded
    # UNAVAILABLE but answered the client 200 with an empty body, a success ({}).
    status, stdout, stderr = _through_proxy(tmp_path, KINDS["4gib-prefix"]("connect"), "connect", http)
    assert status == UNAVAILABLE, (stdout, stderr)
    assert stdout == ""
    assert "upstream" in stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("protocol", ["grpc", "grpc-web", "connect"])
def test_a_continuation_flood_upstream(tmp_path: Path, protocol: str) -> None:
    status, _, stderr = _through_proxy(
        tmp_path, FRAME_KINDS["continuation-flood"](protocol), protocol, "--http2"
    )
    assert status == INTERNAL, stderr
    assert "header list limit" in stderr
