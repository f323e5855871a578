"""Running `rpcctl bench` in-process and reading its JSON report; channel settings for the test service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rpcctl.bench.invoker import LEAN_ENV
from rpcctl.call import MethodInfo
from rpcctl.cli.options import channel_settings
from rpcctl.schema.registry import CallKind
from tests.bench.conftest import GRPC, SCHEMA
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


ECHO = MethodInfo("/rpcctl.test.v1.TestService/Echo", CallKind.UNARY)
COUNT = MethodInfo("/rpcctl.test.v1.TestService/Count", CallKind.SERVER_STREAM)


def run_json(url: str, protocol: str, codec: str, *args: str, expect: int = 0) -> dict[str, Any]:
    """One `rpcctl bench` run (one worker, the test schema) over ``protocol``: its JSON run."""
    result = bench(
        url, *args, "--protocol", protocol, "--codec", codec, "--workers", "1", *SCHEMA, "-O", "json",
        grpc_defaults=False,
    )  # fmt: skip
    assert result.exit_code == expect, result.stderr
    return dict(json.loads(result.stdout)["runs"][0])


def check_unary_ok(url: str, protocol: str, codec: str, calls: int, concurrency: int, http: str) -> None:
    """``calls`` Echo calls (``concurrency`` at a time, over ``http``: --http1 or --http2) all OK."""
    run = run_json(url, protocol, codec, "Echo", "-n", str(calls), "-c", str(concurrency), http,
                   "-d", '{"message": "m{{seq}}"}', "-H", "x-seq: {{seq}}")  # fmt: skip
    assert run["stats"]["codes"] == {"OK": calls}
    assert run["stats"]["count"] == calls


def check_errors_counted_on_both_paths(
    url: str, protocol: str, codec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *flags: str
) -> None:
    """12 failing calls (three codes in turn) counted by code and message, on the cheap path
    (RPCCTL_BENCH_LEAN=1) and the general one (0)."""
    path = tmp_path / "fail.jsonl"
    path.write_text('{"code": 5, "message": "gone"}\n{"code": 7, "message": "no"}\n{"code": 14}\n')
    args = ("Fail", "-n", "12", *flags, "--data-file", str(path))
    for lean in ("1", "0"):
        monkeypatch.setenv(LEAN_ENV, lean)
        stats = run_json(url, protocol, codec, *args, expect=1)["stats"]
        assert stats["codes"] == {"NOT_FOUND": 4, "PERMISSION_DENIED": 4, "UNAVAILABLE": 4}, lean
        assert stats["messages"]["NOT_FOUND: gone"] == 4, lean
        assert stats["messages"]["PERMISSION_DENIED: no"] == 4, lean


def settings(target: str, protocol: str = "connect", **options: Any) -> Any:
    """Channel settings as the CLI makes them."""
    return channel_settings(target, protocol=protocol, **options)


def ctrl_c(proc: subprocess.Popen[str], timeout: float = 60.0) -> tuple[str, str]:
    """Send SIGINT to the process group of `proc` (started with ``start_new_session``), as Ctrl-C
    on a terminal does, and return its (stdout, stderr) once it ended."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"{' '.join(map(str, proc.args[:4]))}… did not end after SIGINT")
