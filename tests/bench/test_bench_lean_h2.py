"""Bench's lean unary path over HTTP/2 (`LeanH2Invoker`): chosen for ``--http2``, same report as `Channel`."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcctl.bench.invoker import ChannelInvoker, make_invoker
from rpcctl.bench.lean_invoker import LEAN_ENV, LeanH2Invoker, LeanHttpInvoker
from rpcctl.call import MethodInfo
from rpcctl.schema.registry import CallKind
from rpcctl.wire.metadata import Metadata
from tests.bench.test_bench_lean import ECHO, HTTP_PROTOCOLS, rpcctl_server, run_json, settings

__all__ = ["rpcctl_server"]  # the module-scoped server fixture, shared


def test_the_h2_lean_path_is_taken_for_http2_unary(monkeypatch: pytest.MonkeyPatch) -> None:
    md = Metadata()
    for protocol in ("connect", "grpc-web"):
        assert isinstance(
            make_invoker(settings("http://h:1", protocol, http2=True), ECHO, md, None), LeanH2Invoker
        )
        assert isinstance(
            make_invoker(settings("https://h:1", protocol, http2=True), ECHO, md, None), LeanH2Invoker
        )
        assert isinstance(make_invoker(settings("http://h:1", protocol), ECHO, md, None), LeanHttpInvoker)
    streaming = MethodInfo("/rpcctl.test.v1.TestService/Count", CallKind.SERVER_STREAM)
    assert isinstance(make_invoker(settings("http://h:1", http2=True), streaming, md, None), ChannelInvoker)
    assert isinstance(make_invoker(settings("https://h:1"), ECHO, md, None), ChannelInvoker)  # ALPN
    monkeypatch.setenv(LEAN_ENV, "0")
    assert isinstance(make_invoker(settings("http://h:1", http2=True), ECHO, md, None), ChannelInvoker)


@pytest.mark.parametrize(("protocol", "codec"), HTTP_PROTOCOLS)
def test_unary_ok_over_h2c(rpcctl_server: str, protocol: str, codec: str) -> None:
    run = run_json(rpcctl_server, protocol, codec, "Echo", "-n", "60", "-c", "8", "--http2",
                   "-d", '{"message": "m{{seq}}"}', "-H", "x-seq: {{seq}}")  # fmt: skip
    assert run["stats"]["codes"] == {"OK": 60}
    assert run["stats"]["count"] == 60


@pytest.mark.parametrize(("protocol", "codec"), HTTP_PROTOCOLS)
def test_h2_errors_counted_by_code_as_the_channel_path_does(
    rpcctl_server: str, protocol: str, codec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fail.jsonl"
    path.write_text('{"code": 5, "message": "gone"}\n{"code": 7, "message": "no"}\n{"code": 14}\n')
    args = ("Fail", "-n", "12", "-c", "3", "--http2", "--data-file", str(path))
    lean = run_json(rpcctl_server, protocol, codec, *args, expect=1)["stats"]
    assert lean["codes"] == {"NOT_FOUND": 4, "PERMISSION_DENIED": 4, "UNAVAILABLE": 4}
    assert lean["messages"]["NOT_FOUND: gone"] == 4
    monkeypatch.setenv(LEAN_ENV, "0")
    channel = run_json(rpcctl_server, protocol, codec, *args, expect=1)["stats"]
    assert lean["codes"] == channel["codes"]
    assert lean["messages"] == channel["messages"]


def test_h2_deadline_counted_as_the_channel_path_does(
    rpcctl_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    lean = run_json(rpcctl_server, "connect", "json", *args, expect=1)["stats"]
    monkeypatch.setenv(LEAN_ENV, "0")
    channel = run_json(rpcctl_server, "connect", "json", *args, expect=1)["stats"]
    assert lean["codes"] == channel["codes"] == {"DEADLINE_EXCEEDED": 4}
