"""Wall time of a one-off unary `rpcctl call`, median of N runs, next to `buf curl`, per protocol.

    python benchmarks/call_latency.py [--runs 10]

Servers: `rpcctl serve` in a subprocess (RunnerService/Ping; Connect and gRPC-Web over HTTP/1.1
and h2c, native gRPC) and the grpcio test service in this process (TestService/Echo, native
gRPC, with reflection). Both tools read the same schema (one FileDescriptorSet: `rpcctl
--protoset`, `buf curl --schema`), so neither pays for reflection, except in the rows that say
so: buf curl always does reflection over HTTP/2, so only native gRPC compares like for like.

Each command runs in a subprocess N times after one warm-up run; the table shows medians and
the ratio rpcctl / buf curl. rpcctl runs as `python -m rpcctl` from this checkout; buf curl is
the Go binary of the npm package (not its Node launcher, which adds a Node start to every run).
Then N more runs of rpcctl with `-v` give the medians of its own timings, in ms from the start
of the call or of its connection, whichever came first: connected (when the call opened its
connection), request sent, first response byte, response headers, end. For Connect over
HTTP/1.1, `connected` and `request sent` are what the call spends before its first byte goes
out: they must be near h2c's, not the cost of building a client.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "interop"))
BUF_PACKAGES = ROOT / "tests" / "interop" / "node_peer" / "node_modules" / "@bufbuild"
RUNNER = "pkg.proto.runner.v1.RunnerService/Ping"
ECHO = "rpcctl.test.v1.TestService/Echo"
TIMING_LABELS = ("connected", "request sent", "first byte", "headers", "end")


class Case(NamedTuple):
    """One row: the same call through rpcctl and through buf curl."""

    protocol: str
    http: str
    schema: str
    rpcctl: list[str]
    buf: list[str] | None


def _buf_binary() -> str | None:
    """The buf Go binary: the npm platform package's, else `buf` on PATH."""
    native = sorted(BUF_PACKAGES.glob("buf-*/bin/buf"))
    if native:
        return str(native[0])
    return shutil.which("buf")


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd, capture_output=True, text=True, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, timeout=60
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {result.stderr[:500]}")
    return result


class Took(NamedTuple):
    """Medians of one command's runs: wall time, and CPU time (user + system) of the process."""

    wall: float
    cpu: float


def _time(cmd: list[str], runs: int, env: dict[str, str]) -> Took:
    """Medians of `cmd` over `runs` runs, after one warm-up run (caches, page cache).

    CPU time is measured too: on a shared machine wall time includes waiting for a core,
    CPU time does not."""
    _run(cmd, env)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        _run(cmd, env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return Took(statistics.median(walls), statistics.median(cpus))


def _verbose_timings(cmd: list[str], runs: int, env: dict[str, str]) -> dict[str, float]:
    """Medians (ms) of the milestones on `rpcctl call -v`'s `* time:` line."""
    seen: dict[str, list[float]] = {label: [] for label in TIMING_LABELS}
    for _ in range(runs):
        stderr = _run([*cmd, "-v"], env).stderr
        for line in stderr.splitlines():
            if line.startswith("* time: "):
                for label, ms in re.findall(r"([a-zA-Z ]+?) ([\d.]+) ms", line.removeprefix("* time: ")):
                    label = label.strip(" ,")
                    if label in seen:
                        seen[label].append(float(ms))
    return {label: statistics.median(values) for label, values in seen.items() if values}


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rpcctl", "serve", "--listen", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"on (http://\S+)", line)
    if match is None:
        proc.kill()
        proc.wait(10)
        raise SystemExit(f"rpcctl serve did not start: {line}")
    return proc, match.group(1)


def _cases(url: str, grpc_url: str, schema: str, buf: str | None) -> list[Case]:
    rpcctl = [sys.executable, "-m", "rpcctl", "call"]
    ping, echo = '{"data": "bench"}', '{"message": "bench"}'
    files = ["--protoset", schema, "--no-reflect"]

    def buf_cmd(
        protocol: str, http2: bool, target: str, method: str, data: str, reflect: bool = False
    ) -> list[str] | None:
        if buf is None:
            return None
        cmd = [buf, "curl", "--protocol", protocol, "-d", data]
        cmd += [] if reflect else ["--schema", schema]
        cmd += ["--http2-prior-knowledge"] if http2 else []
        return [*cmd, f"{target}/{method}"]

    return [
        Case("connect", "HTTP/1.1", "files", [*rpcctl, url, RUNNER, "--http1", *files, "-d", ping], buf_cmd("connect", False, url, RUNNER, ping)),
        Case("connect", "h2c", "files", [*rpcctl, url, RUNNER, "--http2", *files, "-d", ping], buf_cmd("connect", True, url, RUNNER, ping)),
        Case("grpc-web", "HTTP/1.1", "files", [*rpcctl, url, RUNNER, "--protocol", "grpc-web", "--http1", *files, "-d", ping], buf_cmd("grpcweb", False, url, RUNNER, ping)),
        Case("grpc-web", "h2c", "files", [*rpcctl, url, RUNNER, "--protocol", "grpc-web", "--http2", *files, "-d", ping], buf_cmd("grpcweb", True, url, RUNNER, ping)),
        Case("grpc", "h2c", "files", [*rpcctl, url, RUNNER, "--protocol", "grpc", *files, "-d", ping], buf_cmd("grpc", True, url, RUNNER, ping)),
        Case("grpc", "h2c", "grpcio+files", [*rpcctl, grpc_url, ECHO, "--protocol", "grpc", *files, "-d", echo], buf_cmd("grpc", True, grpc_url, ECHO, echo)),
        Case("grpc", "h2c", "grpcio+reflection", [*rpcctl, grpc_url, ECHO, "--protocol", "grpc", "-d", echo], buf_cmd("grpc", True, grpc_url, ECHO, echo, reflect=True)),
    ]  # fmt: skip


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f}"


def _ratio(ours: float, theirs: float | None) -> str:
    return f"{ours / theirs:5.2f}x" if theirs else "   n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from interop_schema import build_descriptor_set

    from tests.servers.grpc_test_service import start_server
    from tests.support.schema import compile_test_schema

    buf = _buf_binary()
    workdir = Path(tempfile.mkdtemp(prefix="rpcctl-call-latency-"))
    env = dict(os.environ, RPCCTL_CACHE_DIR=str(workdir / "cache"), BUF_CACHE_DIR=str(workdir / "buf-cache"))
    schema = str(build_descriptor_set(workdir / "schema.binpb"))
    server, port = start_server(compile_test_schema().pool)
    serve, url = _serve(env)
    rows = []
    try:
        for case in _cases(url, f"http://127.0.0.1:{port}", schema, buf):
            ours = _time(case.rpcctl, args.runs, env)
            theirs = _time(case.buf, args.runs, env) if case.buf else None
            rows.append((case, ours, theirs, _verbose_timings(case.rpcctl, args.runs, env)))
    finally:
        server.stop(grace=None)
        serve.terminate()
        serve.wait(10)

    print(
        f"one-off unary call, medians of {args.runs} runs of the whole process, ms (wall, CPU = user + sys)"
    )
    print(f"buf curl: {buf or 'not installed'}; rpcctl: {sys.executable} -m rpcctl ({ROOT})")
    print(
        f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    head = f"  {'protocol':9s} {'HTTP':9s} {'schema':18s} {'rpcctl':>7s} {'buf':>7s} {'ratio':>6s}"
    head += f" {'rpcctl':>7s} {'buf':>7s} {'ratio':>6s}"
    print(f"  {'':38s} {'---------- wall ----------':26s} {'---------- CPU -----------':26s}")
    print(head + "  | rpcctl -v: " + " / ".join(TIMING_LABELS))
    for case, ours, theirs, timings in rows:
        marks = " / ".join(f"{timings[label]:.1f}" if label in timings else "-" for label in TIMING_LABELS)
        print(
            f"  {case.protocol:9s} {case.http:9s} {case.schema:18s}"
            f" {_ms(ours.wall):>7s} {_ms(theirs and theirs.wall):>7s} {_ratio(ours.wall, theirs and theirs.wall)}"
            f" {_ms(ours.cpu):>7s} {_ms(theirs and theirs.cpu):>7s} {_ratio(ours.cpu, theirs and theirs.cpu)}"
            f"  | {marks}"
        )


if __name__ == "__main__":
    main()
