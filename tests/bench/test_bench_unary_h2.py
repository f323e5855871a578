"""Bench's unary Connect and gRPC-Web calls over ``--http2``: the same report on the cheap path
(`RpcChannel.unary`) and the general one (`Channel.open`, ``RPCCTL_BENCH_LEAN=0``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcctl.bench.invoker import LEAN_ENV
from tests.bench.helpers import run_json
from tests.bench.test_bench_unary_http1 import HTTP_PROTOCOLS


@pytest.mark.parametrize(("protocol", "codec"), HTTP_PROTOCOLS)
def test_unary_ok_over_h2c(rpcctl_server: str, protocol: str, codec: str) -> None:
    run = run_json(rpcctl_server, protocol, codec, "Echo", "-n", "60", "-c", "8", "--http2",
                   "-d", '{"message": "m{{seq}}"}', "-H", "x-seq: {{seq}}")  # fmt: skip
    assert run["stats"]["codes"] == {"OK": 60}
    assert run["stats"]["count"] == 60


@pytest.mark.parametrize(("protocol", "codec"), HTTP_PROTOCOLS)
def test_h2_errors_counted_by_code_on_both_paths(
    rpcctl_server: str, protocol: str, codec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fail.jsonl"
    path.write_text('{"code": 5, "message": "gone"}\n{"code": 7, "message": "no"}\n{"code": 14}\n')
    args = ("Fail", "-n", "12", "-c", "3", "--http2", "--data-file", str(path))
    for lean in ("1", "0"):
        monkeypatch.setenv(LEAN_ENV, lean)
        stats = run_json(rpcctl_server, protocol, codec, *args, expect=1)["stats"]
        assert stats["codes"] == {"NOT_FOUND": 4, "PERMISSION_DENIED": 4, "UNAVAILABLE": 4}, lean
        assert stats["messages"]["NOT_FOUND: gone"] == 4, lean
        assert stats["messages"]["PERMISSION_DENIED: no"] == 4, lean


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
