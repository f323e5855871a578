"""The attack matrix of issue 13 (§6–§9) at full size against `rpcctl serve` and the proxy.

    python benchmarks/attack_matrix.py [--bounded] [--only serve|proxy]

Starts `rpcctl serve` (header timeout 10 s, the default; idle timeout 5 s so that the idle
row ends; at most 500 connections, the default) and the recording proxy in front of it (same
limits), each in a process of its own, and runs every attack of `tests.attacks.matrix.FULL`
against each in turn: 10 connections declaring a 16 MiB DATA frame and sending 15 MiB, 10
rapid resets of 5,000 streams in one write, 200 slowloris connections over HTTP/2 and over
HTTP/1.1, 200 idle connections, connections past the limit. Prints a Markdown table: per
attack, the connections that got the expected answer, RSS (VmRSS of /proc/PID/status) before
and after, the peak (VmHWM) and the status of a normal call afterwards. `--bounded` runs the
tests' smaller matrix. Loopback only; takes about two minutes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rpcctl.server.limits import MEMORY_BOUND_MIB
from tests.attacks.matrix import BOUNDED, FULL, Row, run_matrix, target_options
from tests.attacks.targets import Target, start_proxy, start_serve


def table(rows: list[tuple[str, Row]]) -> str:
    lines = [
        "| target | attack | connections | expected | got it | streams refused | RSS before | RSS after | peak | call after |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for target, row in rows:
        status = "OK" if row.ping_after == 0 else f"grpc-status {row.ping_after}"
        lines.append(
            f"| {target} | {row.name} | {row.connections} | {row.expected} | {row.answered} | {row.refused_streams} "
            f"| {row.rss_before:.0f} MiB | {row.rss_after:.0f} MiB | {row.rss_peak:.0f} MiB | {status} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bounded", action="store_true", help="the tests' smaller matrix")
    parser.add_argument("--only", choices=["serve", "proxy"], help="attack one target only")
    args = parser.parse_args()
    sizes = BOUNDED if args.bounded else FULL
    rows: list[tuple[str, Row]] = []
    serve = start_serve(*target_options(sizes))
    proxy: Target | None = None
    try:
        if args.only != "proxy":
            rows += [("serve", row) for row in run_matrix(serve, sizes)]
        if args.only != "serve":
            with tempfile.TemporaryDirectory() as scratch:
                proxy = start_proxy(serve.url, Path(scratch) / "capture.jsonl", *target_options(sizes))
                rows += [("proxy", row) for row in run_matrix(proxy, sizes)]
                proxy.stop()
    finally:
        if proxy is not None:
            proxy.stop()
        serve.stop()
    print(table(rows))
    held = all(row.held for _, row in rows)
    bounded = all(row.rss_peak <= MEMORY_BOUND_MIB for _, row in rows)
    tracebacks = [t for t in (serve, proxy) if t is not None and "Traceback" in t.stderr]
    print(f"\nall held: {held}; peak within {MEMORY_BOUND_MIB} MiB: {bounded}; tracebacks: {len(tracebacks)}")
    for target in (serve, proxy):
        if target is not None:
            print(f"{len(target.lines)} stderr lines; first: {target.lines[:1]}")
    return 0 if held and bounded and not tracebacks else 1


if __name__ == "__main__":
    sys.exit(main())
