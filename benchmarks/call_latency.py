"""Wall time of a one-off unary `rpcctl call`, median of N runs, next to `buf curl` when installed.

    python benchmarks/call_latency.py [--runs 10]

Starts the test service (grpcio, with reflection) on 127.0.0.1:0, warms rpcctl's schema
cache, then times N runs of each command in subprocesses and prints medians and ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PROTO = ROOT / "tests" / "protos" / "rpcctl" / "test" / "v1" / "test.proto"
BUF = ROOT / "tests" / "interop" / "node_peer" / "node_modules" / ".bin" / "buf"


def _time(cmd: list[str], runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {result.stderr.decode()[:500]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from tests.servers.grpc_test_service import start_server
    from tests.support.schema import compile_test_schema

    schema = compile_test_schema()
    server, port = start_server(schema.pool)
    rpcctl = shutil.which("rpcctl") or sys.exit("install rpcctl first: pip install -e .")
    env = dict(os.environ, RPCCTL_CACHE_DIR=tempfile.mkdtemp(prefix="rpcctl-bench-cache-"))
    target = f"127.0.0.1:{port}"
    data = '{"message": "bench"}'
    cases: dict[str, list[str]] = {
        "rpcctl grpc --proto (cached)": [
            rpcctl, "call", target, "rpcctl.test.v1.TestService/Echo", "--protocol", "grpc",
            "--proto", str(PROTO), "-d", data,
        ],
        "rpcctl grpc reflection": [
            rpcctl, "call", target, "rpcctl.test.v1.TestService/Echo", "--protocol", "grpc", "-d", data,
        ],
    }  # fmt: skip
    if BUF.exists() or shutil.which("buf"):
        buf = str(BUF) if BUF.exists() else str(shutil.which("buf"))
        cases["buf curl grpc reflection"] = [
            buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", data,
            f"http://{target}/rpcctl.test.v1.TestService/Echo",
        ]  # fmt: skip
    try:
        _time(cases["rpcctl grpc --proto (cached)"], 1, env)  # fills the schema cache
        results = {name: statistics.median(_time(cmd, args.runs, env)) for name, cmd in cases.items()}
    finally:
        server.stop(grace=None)
    reference = results.get("buf curl grpc reflection")
    print(f"one-off unary call, median of {args.runs} runs")
    for name, seconds in results.items():
        ratio = f"  ({seconds / reference:.2f}x buf curl)" if reference else ""
        print(f"  {name:32s} {seconds * 1000:8.1f} ms{ratio}")


if __name__ == "__main__":
    main()
