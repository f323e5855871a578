"""Start-up and one-off unary calls: rpcctl beside buf curl (and grpcurl), medians of N runs.

    python benchmarks/call_latency.py [--runs 7] [--rpcctl PATH] [--no-timeline]

Rows: `--help`; `floor`, the imports alone (Python, asyncio, protobuf: no CLI, no call) beside
buf curl's whole Connect call; a unary call per protocol and HTTP version with the schema from one
FileDescriptorSet (`rpcctl --protoset`, `buf curl --schema`, `grpcurl -protoset`); and native
gRPC with the schema by reflection, as a first run (an empty rpcctl cache directory every
run) and as a cached run (the cache the warm-up run filled). buf curl always reflects over
HTTP/2 and grpcurl speaks only native gRPC, so those rows say "n/a" where a tool cannot do
the same call.

Servers: `rpcctl serve` in a subprocess (RunnerService/Ping; Connect and gRPC-Web over
HTTP/1.1 and h2c, native gRPC) and the grpcio test service in this process
(TestService/Echo, native gRPC, with reflection).

Every tool runs in a subprocess; one warm-up run per command, then the N runs ALTERNATE
between the tools (rpcctl, buf curl, grpcurl, rpcctl, ...), so a burst of load on a shared
machine lands on all of them. The table shows wall and CPU (user + sys) medians and the
ratio rpcctl / buf curl. rpcctl runs cold (RPCCTL_DAEMON=off: a new process imports
everything) and, in the `daemon` columns, handed to a daemon (`rpcctl daemon start` in a
directory of this run's own): wall time only, as the worker that runs the call is the
daemon's child, not the measured process's. rpcctl is the console script beside this Python (what `pip install`
gives), else `python -m rpcctl`; `--rpcctl PATH` measures another build (the one-file
executable of packaging/build_onefile.sh). Bytecode is cached in a temporary directory
(PYTHONPYCACHEPREFIX), as an installed package has its .pyc files. buf curl is the Go binary
of the npm package (not its Node launcher). Then, unless --no-timeline, N runs of each call
with `rpcctl -v` give the medians of its own timings, in ms from the start of the call or of
its connection: connected, request sent, first byte, headers, end.
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
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "interop"))
BUF_PACKAGES = ROOT / "tests" / "interop" / "node_peer" / "node_modules" / "@bufbuild"
RUNNER = "pkg.proto.runner.v1.RunnerService/Ping"
ECHO = "rpcctl.test.v1.TestService/Echo"
FLOOR = (
    "import asyncio, json, socket; from google.protobuf import descriptor_pb2, descriptor_pool, "
    "json_format, message_factory"
)
"""What any asyncio + protobuf client in Python imports before its first byte: the `floor` row
runs only this in a new interpreter (no CLI, no call), beside buf curl's whole call."""
TIMING_LABELS = ("connected", "request sent", "first byte", "headers", "end")


class Case(NamedTuple):
    """One row: the same task through rpcctl, buf curl and grpcurl (None: the tool cannot)."""

    task: str
    protocol: str
    http: str
    schema: str
    rpcctl: list[str]
    buf: list[str] | None
    grpcurl: list[str] | None = None
    fresh_cache: bool = False  # rpcctl gets an empty cache directory on every run
    timeline: bool = True


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


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    _run(cmd, env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _alternate(
    commands: list[tuple[list[str], Callable[[], dict[str, str]]] | None], runs: int
) -> list[Took | None]:
    """Medians per command over `runs` rounds; each round runs every command once, in turn.

    One warm-up run each first (page cache, bytecode, the cached-schema rows' cache). CPU is
    measured too: on a shared machine wall time includes waiting for a core, CPU time not."""
    for entry in commands:
        if entry is not None:
            _run(entry[0], entry[1]())
    samples: list[list[tuple[float, float]]] = [[] for _ in commands]
    for _ in range(runs):
        for entry, into in zip(commands, samples, strict=True):
            if entry is not None:
                into.append(_timed(entry[0], entry[1]()))
    return [
        Took(statistics.median(w for w, _ in got), statistics.median(c for _, c in got)) if got else None
        for got in samples
    ]


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


def _rpcctl_command(override: str | None) -> list[str]:
    """The rpcctl to measure: --rpcctl, else the console script beside this Python."""
    if override:
        return [override]
    script = Path(sys.executable).parent / "rpcctl"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rpcctl"]


def _cases(
    rpcctl: list[str], url: str, grpc_url: str, schema: str, buf: str | None, grpcurl: str | None
) -> list[Case]:
    call = [*rpcctl, "call"]
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

    def grpcurl_cmd(target: str, method: str, data: str, reflect: bool = False) -> list[str] | None:
        if grpcurl is None:
            return None
        cmd = [grpcurl, "-plaintext", "-d", data]
        cmd += [] if reflect else ["-protoset", schema]
        return [*cmd, target.removeprefix("http://"), method]

    grpc_echo = [*call, grpc_url, ECHO, "--protocol", "grpc", "-d", echo]
    return [
        Case("--help", "", "", "", [*rpcctl, "--help"], [buf, "curl", "--help"] if buf else None, [grpcurl, "-help"] if grpcurl else None, timeline=False),
        Case("floor", "connect", "h2c", "imports only", [sys.executable, "-c", FLOOR], buf_cmd("connect", True, url, RUNNER, ping), timeline=False),
        Case("call", "connect", "HTTP/1.1", "protoset", [*call, url, RUNNER, "--http1", *files, "-d", ping], buf_cmd("connect", False, url, RUNNER, ping)),
        Case("call", "connect", "h2c", "protoset", [*call, url, RUNNER, "--http2", *files, "-d", ping], buf_cmd("connect", True, url, RUNNER, ping)),
        Case("call", "grpc-web", "HTTP/1.1", "protoset", [*call, url, RUNNER, "--protocol", "grpc-web", "--http1", *files, "-d", ping], buf_cmd("grpcweb", False, url, RUNNER, ping)),
        Case("call", "grpc-web", "h2c", "protoset", [*call, url, RUNNER, "--protocol", "grpc-web", "--http2", *files, "-d", ping], buf_cmd("grpcweb", True, url, RUNNER, ping)),
        Case("call", "grpc", "h2c", "protoset", [*call, url, RUNNER, "--protocol", "grpc", *files, "-d", ping], buf_cmd("grpc", True, url, RUNNER, ping), grpcurl_cmd(url, RUNNER, ping)),
        Case("call", "grpc", "h2c", "protoset, grpcio", [*grpc_echo, *files], buf_cmd("grpc", True, grpc_url, ECHO, echo), grpcurl_cmd(grpc_url, ECHO, echo)),
        Case("call", "grpc", "h2c", "reflection, first", grpc_echo, buf_cmd("grpc", True, grpc_url, ECHO, echo, reflect=True), grpcurl_cmd(grpc_url, ECHO, echo, reflect=True), fresh_cache=True),
        Case("call", "grpc", "h2c", "reflection, cached", grpc_echo, buf_cmd("grpc", True, grpc_url, ECHO, echo, reflect=True), grpcurl_cmd(grpc_url, ECHO, echo, reflect=True)),
    ]  # fmt: skip


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f}"


def _ratio(ours: float, theirs: float | None) -> str:
    return f"{ours / theirs:5.2f}x" if theirs else "   n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rpcctl", help="the rpcctl executable to measure (default: this venv's)")
    parser.add_argument("--no-timeline", action="store_true", help="skip the rpcctl -v timings")
    args = parser.parse_args()

    from interop_schema import build_descriptor_set

    from tests.servers.grpc_test_service import start_server
    from tests.support.schema import compile_test_schema

    buf, grpcurl = _buf_binary(), shutil.which("grpcurl")
    rpcctl = _rpcctl_command(args.rpcctl)
    workdir = Path(tempfile.mkdtemp(prefix="rpcctl-call-latency-"))
    env = dict(
        os.environ,
        RPCCTL_CACHE_DIR=str(workdir / "cache"),
        BUF_CACHE_DIR=str(workdir / "buf-cache"),
        PYTHONPYCACHEPREFIX=str(workdir / "pyc"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    fresh = iter(range(1_000_000))

    env.pop("RPCCTL_DAEMON", None)
    cold = dict(env, RPCCTL_DAEMON="off")
    warm = dict(env, RPCCTL_DAEMON_DIR=str(workdir / "daemon"))

    def fresh_env(base: dict[str, str]) -> dict[str, str]:
        return dict(base, RPCCTL_CACHE_DIR=str(workdir / f"cache-{next(fresh)}"))

    load_before = os.getloadavg()
    schema = str(build_descriptor_set(workdir / "schema.binpb"))
    server, port = start_server(compile_test_schema().pool)
    serve, url = _serve(env)
    _run([*rpcctl, "daemon", "start", "--idle", "10m"], warm)
    rows = []
    try:
        for case in _cases(rpcctl, url, f"http://127.0.0.1:{port}", schema, buf, grpcurl):
            ours_env = (lambda: fresh_env(cold)) if case.fresh_cache else lambda: cold
            warm_env = (lambda: fresh_env(warm)) if case.fresh_cache else lambda: warm
            tooks = _alternate(
                [
                    (case.rpcctl, ours_env),
                    (case.buf, lambda: env) if case.buf else None,
                    (case.grpcurl, lambda: env) if case.grpcurl else None,
                    (case.rpcctl, warm_env) if case.task == "call" else None,
                ],
                args.runs,
            )
            timeline = (
                _verbose_timings(case.rpcctl, args.runs, ours_env())
                if case.timeline and not args.no_timeline
                else {}
            )
            rows.append((case, tooks, timeline))
    finally:
        _run([*rpcctl, "daemon", "stop"], warm)
        server.stop(grace=None)
        serve.terminate()
        serve.wait(10)

    print(f"start-up and one-off unary calls, medians of {args.runs} alternating runs of each process, ms")
    print(
        f"rpcctl: {' '.join(rpcctl)} ({ROOT}); buf curl: {buf or 'not installed'}; grpcurl: {grpcurl or 'not installed'}"
    )
    loads = (" ".join(f"{x:.1f}" for x in load) for load in (load_before, os.getloadavg()))
    print(f"load average at the start: {next(loads)}, at the end: {next(loads)} on {os.cpu_count()} CPUs")
    print(
        f"  {'':43s} {'------------------- wall ------------------':43s}  {'--------- CPU (user + sys) ---------':36s}"
        f"  {'-- wall --':14s}"
    )
    head = f"  {'task':6s} {'protocol':9s} {'HTTP':9s} {'schema':17s}"
    head += f" {'rpcctl':>7s} {'buf':>7s} {'grpcurl':>7s} {'r/buf':>6s} {'r/grpcurl':>9s}"
    head += f"  {'rpcctl':>7s} {'buf':>7s} {'grpcurl':>7s} {'r/buf':>6s}"
    head += f"  {'daemon':>7s} {'d/buf':>6s}"
    print(head + "  | rpcctl -v: " + " / ".join(TIMING_LABELS))
    for case, (ours, theirs, grpcurls, daemon), timings in rows:
        assert ours is not None
        marks = " / ".join(f"{timings[label]:.1f}" if label in timings else "-" for label in TIMING_LABELS)
        buf_wall, buf_cpu = (theirs.wall, theirs.cpu) if theirs else (None, None)
        gu_wall, gu_cpu = (grpcurls.wall, grpcurls.cpu) if grpcurls else (None, None)
        print(
            f"  {case.task:6s} {case.protocol:9s} {case.http:9s} {case.schema:17s}"
            f" {_ms(ours.wall):>7s} {_ms(buf_wall):>7s} {_ms(gu_wall):>7s}"
            f" {_ratio(ours.wall, buf_wall)} {_ratio(ours.wall, gu_wall):>9s}"
            f"  {_ms(ours.cpu):>7s} {_ms(buf_cpu):>7s} {_ms(gu_cpu):>7s} {_ratio(ours.cpu, buf_cpu)}"
            f"  {_ms(daemon.wall if daemon else None):>7s} {_ratio(daemon.wall, buf_wall) if daemon else '   n/a'}"
            f"  | {marks if timings else ''}"
        )


if __name__ == "__main__":
    main()
