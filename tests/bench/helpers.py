"""Running `rpcctl bench` in-process and reading its JSON report."""

from __future__ import annotations

import json
from typing import Any

from tests.bench.conftest import GRPC
from tests.support.cli import CliResult, run_cli


def bench(*args: str, grpc_defaults: bool = True) -> CliResult:
    """`rpcctl bench ARGS…` (with --protocol grpc --workers 1 and the test schema by default)."""
    defaults = GRPC if grpc_defaults else ()
    if "--workers" in args:
        defaults = tuple(d for d in defaults if d not in ("--workers", "1"))
    return run_cli("bench", *args, *defaults)


def bench_json(*args: str, expect: int = 0) -> dict[str, Any]:
    """The single run of a JSON report, checking the exit status."""
    result = bench(*args, "-O", "json")
    assert result.exit_code == expect, result.stderr
    runs = json.loads(result.stdout)["runs"]
    assert len(runs) == 1
    return dict(runs[0])
