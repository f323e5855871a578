"""A deadline error echoes `--timeout` as the user spelt it (`10ms`, not `0.01s`)."""

from __future__ import annotations

import pytest

from tests.cli.raw_peers import serving, silent_after_settings
from tests.conftest import GrpcServer
from tests.support.cli import run_cli

G = ("--protocol", "grpc")


def test_call_deadline_names_the_timeout_as_typed(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "--timeout", "300ms", "-d", '{"delayMs": 3000}')
    assert result.exit_code == 64 + 4, result.stderr
    assert result.stderr.strip() == "error: DEADLINE_EXCEEDED (4): --timeout of 300ms exceeded"


def test_list_deadline_names_the_timeout_as_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    import rpcctl.loader

    monkeypatch.setattr(rpcctl.loader, "REFLECTION_TIMEOUT", 1000.0)
    with serving(silent_after_settings) as port:
        result = run_cli("list", f"127.0.0.1:{port}", *G, "--timeout", "500ms")
    assert result.exit_code == 64 + 4, result.stderr
    assert result.stderr.strip() == "error: DEADLINE_EXCEEDED (4): --timeout of 500ms exceeded"
