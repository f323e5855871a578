"""Bench's unary Connect and gRPC-Web calls over ``--http2``: the same report on the cheap path
(`RpcChannel.unary`) and the general one (`Channel.open`, ``RPCCTL_BENCH_LEAN=0``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcctl.bench.invoker import LEAN_ENV
from tests.bench.helpers import check_errors_counted_on_both_paths, check_unary_ok, run_json
from tests.bench.test_bench_unary_http1 import HTTP_PROTOCOLS


@pytest.mark.parametrize(("protocol", "codec"), HTTP_PROTOCOLS)
def test_unary_ok_over_h2c(rpcctl_server: str, protocol: str, codec: str) -> None:
    check_unary_ok(rpcctl_server, protocol, codec, 60, 8, "--http2")


@pytest.mark.parametrize(("protocol", "codec"), HTTP_PROTOCOLS)
def test_h2_errors_counted_by_code_on_both_paths(
    rpcctl_server: str, protocol: str, codec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_errors_counted_on_both_paths(
        rpcctl_server, protocol, codec, tmp_path, monkeypatch, "-c", "3", "--http2"
    )


def test_h2_deadline_counted_on_both_paths(rpcctl_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args = (
        "Echo",
        "-n",
        "4",
        "-c",
        "2",
        "--http2",
        "--timeout",
        "0.2",
        "-d",
        '{"message": "s", "delayMs": 2000}',
    )
    for lean in ("1", "0"):
        monkeypatch.setenv(LEAN_ENV, lean)
        stats = run_json(rpcctl_server, "connect", "json", *args, expect=1)["stats"]
        assert stats["codes"] == {"DEADLINE_EXCEEDED": 4}, lean
