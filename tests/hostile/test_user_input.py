"""Hostile request bodies from the user (-d): exit 2 and one line on stderr, like any bad JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import GrpcServer
from tests.support.cli import run_cli

G = ("--protocol", "grpc")
BODIES = {
    "deep-array": "[" * 5000 + "]" * 5000,
    "deep-object": '{"message": ' + '{"a": ' * 3000 + "1" + "}" * 3000 + "}",
    "long-number": '{"delayMs": ' + "9" * 5000 + "}",
    "deep-in-a-stream": '{"message": "a"}\n' + "[" * 5000 + "]" * 5000,
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_hostile_body_from_a_file(grpc_server: GrpcServer, tmp_path: Path, name: str) -> None:
    path = tmp_path / "body.json"
    path.write_text(BODIES[name])
    result = run_cli("call", grpc_server.target, "Chat" if "stream" in name else "Echo", *G, "-d", f"@{path}")
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.splitlines()) == 1
    assert len(result.stderr) < 400


def test_deep_body_on_stdin(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "-d", "@-", stdin=BODIES["deep-array"].encode())
    assert result.exit_code == 2, result.stderr
    assert "nested deeper than 200 levels" in result.stderr
