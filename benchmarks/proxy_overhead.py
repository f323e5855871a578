"""Latency the recording proxy adds, and its throughput, against direct calls.

    python benchmarks/proxy_overhead.py [--calls 2000] [--concurrency 10]

Starts `rpcctl serve` (the upstream) and `rpcctl tail-logs --headless --listen … --upstream …`
(the recording proxy, decoding every message and writing a capture) as subprocesses on
127.0.0.1, then runs the same `rpcctl bench` of RunnerService/Ping directly and through the
proxy, per protocol, and prints p50, p99 and calls/s with the proxied/direct ratios.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

READY = re.compile(r"(?:on|listening on) (http://\S+)")
PROTOCOLS = ("connect", "grpc", "grpc-web")


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rpcctl", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = READY.search(line)
    if match is None:
        proc.kill()
        raise SystemExit(f"{args[0]} did not start: {line!r}")
    return proc, match.group(1)


def _bench(url: str, protocol: str, calls: int, concurrency: int) -> dict[str, Any]:
    cmd = [
        sys.executable, "-m", "rpcctl", "bench", url, "pkg.proto.runner.v1.RunnerService/Ping",
        "--protocol", protocol, "-d", '{"data": "proxy"}', "-n", str(calls), "-c", str(concurrency),
        "--workers", "1", "-O", "json", "--no-reflect",
    ]  # fmt: skip
    if protocol != "grpc":
        cmd.append("--http2")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise SystemExit(f"bench failed: {result.stderr[-800:]}")
    stats: dict[str, Any] = json.loads(result.stdout)["runs"][0]["stats"]
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    capture = Path(tempfile.mkdtemp(prefix="rpcctl-proxy-bench-")) / "capture.jsonl"
    upstream, upstream_url = _start("serve", "--listen", "127.0.0.1:0")
    proxy = None
    try:
        proxy, proxy_url = _start(
            "tail-logs",
            "--headless",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            upstream_url,
            "--record",
            str(capture),
        )
        print(
            f"RunnerService/Ping, {args.calls} calls, {args.concurrency} in flight, HTTP/2; proxy records to a capture"
        )
        print(f"  {'protocol':9s} {'p50 direct':>11s} {'p50 proxy':>10s} {'ratio':>6s} {'p99 direct':>11s} "
              f"{'p99 proxy':>10s} {'ratio':>6s} {'calls/s direct':>15s} {'proxy':>8s} {'ratio':>6s}")  # fmt: skip
        for protocol in PROTOCOLS:
            direct = _bench(upstream_url, protocol, args.calls, args.concurrency)
            proxied = _bench(proxy_url, protocol, args.calls, args.concurrency)
            d, p = direct["latency_ms"], proxied["latency_ms"]
            print(
                f"  {protocol:9s} {d['p50']:9.2f}ms {p['p50']:8.2f}ms {p['p50'] / d['p50']:5.2f}x "
                f"{d['p99']:9.2f}ms {p['p99']:8.2f}ms {p['p99'] / d['p99']:5.2f}x "
                f"{direct['rps']:15,.0f} {proxied['rps']:8,.0f} {proxied['rps'] / direct['rps']:5.2f}x"
            )
            if proxied["errors"] or direct["errors"]:
                print(f"    errors: direct {direct['errors']}, proxied {proxied['errors']}")
    finally:
        for proc in (proxy, upstream):
            if proc is not None:
                proc.terminate()
                proc.wait(15)
    lines = sum(1 for _ in capture.open()) if capture.exists() else 0
    print(f"capture: {lines:,} lines in {capture}")


if __name__ == "__main__":
    main()
