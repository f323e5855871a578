"""Wall time of a one-off unary `rpcctl call`, median of N runs, next to `buf curl`.

    python benchmarks/call_latency.py [--runs 10]

Native gRPC: the test service (grpcio, with reflection) in this process; rpcctl with a
cached `--proto` schema and with reflection. Connect and gRPC-Web: `rpcctl serve` in a
subprocess, RunnerService/Ping, schema by reflection for both tools. Each command runs
in a subprocess N times after one warm-up run; medians and ratios to buf curl are printed.
"""

from __future__ import annotations

import argparse
import os
import re
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


def _time(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for n in range(runs + 1):
        start = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
        if n:  # the first run warms caches (schema cache, page cache)
            times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {result.stderr.decode()[:500]}")
    return statistics.median(times)


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rpcctl", "serve", "--listen", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"on (http://\S+)", line)
    if match is None:
        proc.kill()
        raise SystemExit(f"rpcctl serve did not start: {line}")
    return proc, match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from tests.servers.grpc_test_service import start_server
    from tests.support.schema import compile_test_schema

    rpcctl = shutil.which("rpcctl") or sys.exit("install rpcctl first: pip install -e .")
    buf = str(BUF) if BUF.exists() else shutil.which("buf")
    env = dict(os.environ, RPCCTL_CACHE_DIR=tempfile.mkdtemp(prefix="rpcctl-bench-cache-"))
    server, port = start_server(compile_test_schema().pool)
    serve, url = _serve(env)
    grpc_target = f"127.0.0.1:{port}"
    echo = '{"message": "bench"}'
    ping = '{"data": "bench"}'
    rows: list[tuple[str, str, float, float | None]] = []
    try:
        cases = [
            ("grpc", "rpcctl --proto (cached)", [rpcctl, "call", grpc_target, "rpcctl.test.v1.TestService/Echo", "--protocol", "grpc", "--proto", str(PROTO), "-d", echo]),
            ("grpc", "rpcctl (reflection)", [rpcctl, "call", grpc_target, "rpcctl.test.v1.TestService/Echo", "--protocol", "grpc", "-d", echo]),
            ("connect", "rpcctl (reflection)", [rpcctl, "call", url, "pkg.proto.runner.v1.RunnerService/Ping", "-d", ping]),
            ("grpc-web", "rpcctl (reflection)", [rpcctl, "call", url, "pkg.proto.runner.v1.RunnerService/Ping", "--protocol", "grpc-web", "-d", ping]),
        ]  # fmt: skip
        references = {}
        if buf:
            references = {
                "grpc": [buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", echo, f"http://{grpc_target}/rpcctl.test.v1.TestService/Echo"],
                "connect": [buf, "curl", "--protocol", "connect", "-d", ping, f"{url}/pkg.proto.runner.v1.RunnerService/Ping"],
                "grpc-web": [buf, "curl", "--protocol", "grpcweb", "-d", ping, f"{url}/pkg.proto.runner.v1.RunnerService/Ping"],
            }  # fmt: skip
        reference_times = {name: _time(cmd, args.runs, env) for name, cmd in references.items()}
        for protocol, name, cmd in cases:
            rows.append((protocol, name, _time(cmd, args.runs, env), reference_times.get(protocol)))
    finally:
        server.stop(grace=None)
        serve.terminate()
        serve.wait(10)
    print(f"one-off unary call, median of {args.runs} runs (wall time of the whole process)")
    print(f"  {'protocol':9s} {'client':26s} {'rpcctl':>9s} {'buf curl':>9s} {'ratio':>6s}")
    for protocol, name, seconds, reference in rows:
        ref = f"{reference * 1000:7.1f}ms" if reference else "      n/a"
        ratio = f"{seconds / reference:5.2f}x" if reference else "   n/a"
        print(f"  {protocol:9s} {name:26s} {seconds * 1000:7.1f}ms {ref} {ratio}")


if __name__ == "__main__":
    main()
