"""How many simulated CI runners `rpcctl serve` sustains: `bench --scenario runner` at rising counts.

    python benchmarks/runner_capacity.py [--runners 100,200,300,400] [--duration 20]
        [--rows-per-sec 100] [--protocol connect] [--http1]

For each runner count, a fresh `rpcctl serve --tasks` (one long task per runner, so that no
runner waits for work) takes `rpcctl bench --scenario runner` for `--duration` seconds. A count
is sustained when the p99 UpdateLog latency stays under `--p99-ms` (default 100), no call
fails, no ack disagrees, and the server accepts at least 95% of the rows offered (runners
start over half a second and register first, which costs a few percent of a short run). The last line
names the highest sustained count. Server and load generator share this machine's cores, so
the figure is a floor for a server with a machine of its own.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCEPTED = 0.95  # share of the offered rows the server must acknowledge


def _tasks(count: int, rows: int, folder: Path) -> Path:
    """One task per runner, with a stream longer than the run (runners never go idle)."""
    steps = [{"name": f"step-{s}", "actions": [{"name": "build", "rows": rows}]} for s in range(2)]
    tasks = [
        {"tx_uuid": str(uuid.uuid4()), "labels": [], "stages": [{"name": "stage-0", "steps": steps}]}
        for _ in range(count)
    ]
    path = folder / f"tasks-{count}.json"
    path.write_text(json.dumps(tasks))
    return path


def _serve(tasks: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with log.open("wb") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "rpcctl", "serve", "--listen", "127.0.0.1:0", "--tasks", str(tasks)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        match = re.search(r"(http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if match:
            return server, match.group(1)
        if server.poll() is not None:
            break
        time.sleep(0.1)
    server.kill()
    server.wait()
    raise SystemExit(f"rpcctl serve did not start: {log.read_text(errors='replace')[-800:]}")


def _measure(runners: int, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    rows = int(args.duration * args.rows_per_sec * 1.5) + 100  # the simulator builds a stream's rows ahead
    server, url = _serve(_tasks(runners, rows, folder), folder / "serve.err")
    try:
        cmd = [sys.executable, "-m", "rpcctl", "bench", url, "--scenario", "runner",
               "--runners", str(runners), "--rows-per-sec", str(args.rows_per_sec),
               "-z", f"{args.duration}s", "--protocol", args.protocol,
               "--http1" if args.http1 else "--http2", "-O", "json"]  # fmt: skip
        result = subprocess.run(
            cmd, capture_output=True, text=True, timeout=args.duration + 120, stdin=subprocess.DEVNULL
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    if not result.stdout.strip():
        raise SystemExit(f"bench failed ({result.returncode}): {result.stderr[-800:]}")
    run = json.loads(result.stdout)["runs"][0]
    stats, scenario = run["stats"], run["scenario"]
    offered = runners * args.rows_per_sec
    return {
        "calls_per_s": stats["rps"],
        "p50": stats["latency_ms"]["p50"],
        "p99": stats["latency_ms"]["p99"],
        "errors": stats["errors"] + scenario["runner_errors"],
        "mismatches": scenario["ack_mismatches"],
        "rows_per_s": scenario["rows_acked_per_sec"],
        "accepted": scenario["rows_acked_per_sec"] / offered if offered else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--runners", default="100,200,300,400", help="comma-separated runner counts")
    parser.add_argument("--duration", type=int, default=20, help="seconds per run")
    parser.add_argument("--rows-per-sec", type=float, default=100.0, help="log rows per second per runner")
    parser.add_argument("--protocol", default="connect", choices=["connect", "grpc", "grpc-web"])
    parser.add_argument("--http1", action="store_true", help="HTTP/1.1 instead of h2c")
    parser.add_argument(
        "--p99-ms", type=float, default=100.0, help="the UpdateLog p99 a sustained run stays under"
    )
    args = parser.parse_args()
    counts = [int(part) for part in args.runners.split(",") if part.strip()]
    folder = Path(tempfile.mkdtemp(prefix="rpcctl-runner-capacity-"))
    print(f"{'runners':>7} {'UpdateLog/s':>11} {'rows/s accepted':>15} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6} {'ack mismatches':>14}  sustained")  # fmt: skip
    best = 0
    for runners in counts:
        row = _measure(runners, args, folder)
        sustained = (
            row["p99"] < args.p99_ms
            and not row["errors"]
            and not row["mismatches"]
            and row["accepted"] >= ACCEPTED
        )
        if sustained:
            best = max(best, runners)
        print(f"{runners:>7} {row['calls_per_s']:>11.0f} {row['rows_per_s']:>15.0f} {row['p50']:>7.1f} "
              f"{row['p99']:>7.1f} {row['errors']:>6.0f} {row['mismatches']:>14.0f}  {'yes' if sustained else 'no'}")  # fmt: skip
    print(f"highest sustained: {best or 'none'} runners at {args.rows_per_sec:g} rows/s each "
          f"({args.protocol}, {'HTTP/1.1' if args.http1 else 'h2c'}, p99 UpdateLog < {args.p99_ms:g} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
