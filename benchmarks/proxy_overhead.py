"""Latency the recording proxy adds, and its throughput, against direct calls.

    python benchmarks/proxy_overhead.py [--calls 2000] [--concurrency 10] [--profile]

Starts `rpcctl serve` (the upstream) and `rpcctl tail-logs --headless --listen … --upstream …`
(the recording proxy, decoding every message and writing a capture) as subprocesses on
127.0.0.1, then runs the same `rpcctl bench` of RunnerService/Ping directly and through the
proxy, per protocol, and prints p50, p99 and calls/s with the proxied/direct ratios.

Then it runs the proxy once more under cProfile (one bench per protocol through it; the
profiler slows the proxy, so this run is not timed) and prints where the proxy's CPU goes,
per component: the server half (hypercorn, its HTTP/2 and HTTP/1.1 state machines, rpcctl's
ASGI dispatch), the relay itself, the upstream hop (rpcctl's HTTP/2 and HTTP/1.1 clients),
decoding (the side decoders and protobuf → JSON for the events), capture (events, redaction,
JSON Lines), and the event loop. `--no-profile` skips it.
"""

from __future__ import annotations

import argparse
import json
import pstats
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

READY = re.compile(r"(?:on|listening on) (http://\S+)")
PROTOCOLS = ("connect", "grpc", "grpc-web")


# Where a function's own time is counted, by the path of its file (first match wins).
COMPONENTS = (
    (
        "capture",
        (
            "rpcctl/proxy/capture",
            "rpcctl/proxy/recorder",
            "rpcctl/proxy/redact",
            "rpcctl/server/events",
            "/json/",
        ),
    ),
    (
        "decoding",
        (
            "rpcctl/proxy/tap",
            "rpcctl/proxy/decoding",
            "rpcctl/protocols/",
            "rpcctl/wire/",
            "rpcctl/schema/",
            "google/protobuf",
        ),
    ),
    ("relay", ("rpcctl/proxy/relay",)),
    ("upstream hop", ("rpcctl/transport/",)),
    (
        "server half",
        ("hypercorn/", "/h2/", "/h11/", "/hpack/", "/hyperframe/", "rpcctl/server/", "priority/", "wsproto"),
    ),
    ("tail-logs view", ("rpcctl/runner/", "rpcctl/cli/", "rpcctl/output/")),
    ("event loop, sockets", ("asyncio/", "selectors", "socket", "ssl")),
    ("startup (imports)", ("<frozen", "importlib")),
)


# Time spent blocked in the selector: the proxy idle, waiting for bytes.
IDLE = ("<method 'poll' of 'select.epoll' objects>", "<method 'select' of 'select.select' objects>")


def _component(filename: str) -> str:
    return next((c for c, marks in COMPONENTS if any(m in filename for m in marks)), "other")


def _add(totals: dict[str, float], component: str, seconds: float) -> None:
    totals[component] = totals.get(component, 0.0) + seconds


def _start(*args: str, python: tuple[str, ...] = ()) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, *python, "-m", "rpcctl", *args],
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
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True)
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
    if args.profile:
        _profile(args.calls, args.concurrency, capture.parent)


def _profile(calls: int, concurrency: int, scratch: Path) -> None:
    """Run the recording proxy under cProfile and print its CPU per component."""
    stats_path = scratch / "proxy.pstats"
    upstream, upstream_url = _start("serve", "--listen", "127.0.0.1:0")
    proxy = None
    try:
        proxy, proxy_url = _start(
            "tail-logs", "--headless", "--listen", "127.0.0.1:0", "--upstream", upstream_url,
            "--record", str(scratch / "profiled.jsonl"),
            python=("-m", "cProfile", "-o", str(stats_path)),
        )  # fmt: skip
        for protocol in PROTOCOLS:
            _bench(proxy_url, protocol, calls, concurrency)
    finally:
        if proxy is not None:
            proxy.send_signal(signal.SIGINT)  # a clean exit, so that cProfile writes its stats
            proxy.wait(30)
        upstream.terminate()
        upstream.wait(15)
    if not stats_path.exists():
        print("profile: the proxy wrote no stats")
        return
    totals: dict[str, float] = {}
    stats: Any = pstats.Stats(str(stats_path)).stats
    for (filename, _line, name), (_cc, _nc, tottime, _ct, callers) in stats.items():
        if name in IDLE:
            continue  # waiting for the sockets, not work
        if filename != "~":
            _add(totals, _component(filename), tottime)
            continue
        # A builtin (a socket send, json's C encoder): its time goes to whoever called it.
        count = sum(caller[1] for caller in callers.values()) or 1
        for (caller_file, _l, _n), caller in callers.items():
            _add(totals, _component(caller_file), tottime * caller[1] / count)
    whole = sum(totals.values()) or 1.0
    total_calls = calls * len(PROTOCOLS)
    print(f"proxy CPU per component (cProfile, {total_calls:,} calls: {calls:,} per protocol):")
    for component, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {component:22s} {seconds * 1e6 / total_calls:8.1f} µs/call {seconds / whole:6.1%}")


if __name__ == "__main__":
    main()
