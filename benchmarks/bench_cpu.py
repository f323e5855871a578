"""Client CPU per call and calls/s of `rpcctl bench`, next to h2load and wrk, on a static nginx.

    python benchmarks/bench_cpu.py [--calls 30000] [--workers 2] [--wrk-seconds 3] [--repeat 2] [--channel]

Starts nginx (private config, 127.0.0.1 only, one worker) answering Echo with static bytes:
native gRPC on an h2c port (a pre-encoded envelope and a `grpc-status: 0` trailer), Connect
(`application/json`) and gRPC-Web on both that port and an HTTP/1.1 port (routed by content
type). The server costs almost nothing, so what is measured is the client. CPU is user+sys
of the client process tree (`RUSAGE_CHILDREN`, which counts worker processes once they are
waited for). For rpcctl the fixed start-up cost (imports, schema) is removed by running with
few and with many calls and dividing the difference (least CPU of `--repeat` runs each).
`--channel` adds rows without the lean clients (`RPCCTL_BENCH_LEAN=0`): native gRPC through
grpcio, Connect/gRPC-Web through `HttpChannel`, the paths unary calls took before them.
`--only h2c` runs only the rows whose name contains it (and the h2load baseline). Needs nginx,
h2load (nghttp2-client) and wrk; without them it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PROTO_ROOT = ROOT / "tests" / "protos"
PROTO = PROTO_ROOT / "rpcctl" / "test" / "v1" / "test.proto"
PATH = "/rpcctl.test.v1.TestService/Echo"
MESSAGE = b"\x0a\x05hello"  # EchoResponse{message: "hello"}
BENCH = (
    "import sys\n"
    "from rpcctl.cli.app import app, main\n"
    "if not any(c.name == 'bench' for c in app.registered_commands):\n"
    "    from rpcctl.cli.bench import bench_command\n"
    "    app.command('bench')(bench_command)\n"
    "if __name__ == '__main__':\n"
    "    main(['bench', *sys.argv[1:]])\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _envelope(flags: int, data: bytes) -> bytes:
    return bytes([flags]) + len(data).to_bytes(4, "big") + data


def _nginx_config(folder: Path, grpc_port: int, http_port: int) -> Path:
    (folder / "grpc.bin").write_bytes(_envelope(0, MESSAGE))
    (folder / "grpcweb.bin").write_bytes(_envelope(0, MESSAGE) + _envelope(0x80, b"grpc-status: 0\r\n"))
    (folder / "connect.json").write_text('{"message":"hello"}')

    # Static files answer POST with 405; `error_page 405 =200 $uri` serves them anyway. Both
    # ports route on the content type: gRPC-Web and Connect on either, native gRPC on h2c.
    def routes(grpc: bool) -> str:
        trailers = 'add_trailer grpc-status 0;\n      add_trailer grpc-message "";' if grpc else ""
        return f"""
    location = {PATH} {{
      if ($http_content_type ~ "grpc-web") {{ rewrite ^ /grpcweb last; }}
      if ($http_content_type = "application/json") {{ rewrite ^ /connect last; }}
      default_type {"application/grpc" if grpc else "application/json"};
      {trailers}
      error_page 405 =200 $uri;
      alias {folder}/{"grpc.bin" if grpc else "connect.json"};
    }}
    location = /connect {{
      internal;
      default_type application/json;
      error_page 405 =200 $uri;
      alias {folder}/connect.json;
    }}
    location = /grpcweb {{
      internal;
      default_type application/grpc-web+proto;
      error_page 405 =200 $uri;
      alias {folder}/grpcweb.bin;
    }}"""

    config = f"""
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {folder}/body;
  proxy_temp_path {folder}/proxy;
  fastcgi_temp_path {folder}/fastcgi;
  uwsgi_temp_path {folder}/uwsgi;
  scgi_temp_path {folder}/scgi;
  keepalive_requests 10000000;
  types {{ }}
  server {{
    listen 127.0.0.1:{grpc_port} http2;
{routes(True)}
  }}
  server {{
    listen 127.0.0.1:{http_port};
{routes(False)}
  }}
}}
"""
    path = folder / "nginx.conf"
    path.write_text(config)
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measure(
    cmd: list[str], timeout: float = 300, env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """(CPU seconds, wall seconds, stdout) of one client run."""
    cpu, start = _children_cpu(), time.perf_counter()
    result = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({result.returncode}): {result.stderr[-800:]}")
    return cpu, wall, result.stdout


def _rpcctl(
    script: Path,
    target: str,
    calls: int,
    workers: int,
    extra: list[str],
    repeat: int,
    env: dict[str, str] | None = None,
) -> dict[str, float]:
    """CPU per call (start-up removed) and calls/s of rpcctl bench.

    Each size runs `repeat` times and the least CPU counts: start-up (imports, spawning
    workers) varies by tens of ms from run to run on a shared machine, noise that would
    otherwise land on the per-call figure.
    """

    def run(count: int) -> tuple[float, dict[str, object]]:
        cmd = [sys.executable, str(script), target, "Echo", "-n", str(count), "-c", "50",
               "--workers", str(workers), "--proto", str(PROTO), "-I", str(PROTO_ROOT), "-O", "json", *extra]  # fmt: skip
        cpu, _, out = _measure(cmd, env=env)
        return cpu, json.loads(out)["runs"][0]["stats"]

    small = max(200, calls // 10)
    cpu_small = min(run(small)[0] for _ in range(repeat))
    best: tuple[float, dict[str, object]] | None = None
    for _ in range(repeat):
        cpu, stats = run(calls)
        if best is None or cpu < best[0]:
            best = (cpu, stats)
    assert best is not None
    cpu_big, stats = best
    errors = int(stats["errors"])  # type: ignore[call-overload]
    if errors:
        print(f"  warning: {errors} errors: {stats['codes']}")
    return {
        "cpu_us": (cpu_big - cpu_small) / (calls - small) * 1e6,
        "rps": float(stats["rps"]),  # type: ignore[arg-type]
    }


def _h2load(port: int, calls: int, folder: Path) -> dict[str, float]:
    body = folder / "request.bin"
    body.write_bytes(_envelope(0, b"\x0a\x05hello"))
    cmd = ["h2load", "-n", str(calls), "-c", "1", "-m", "50", "-d", str(body),
           "-H", "content-type: application/grpc", "-H", "te: trailers", f"http://127.0.0.1:{port}{PATH}"]  # fmt: skip
    cpu, wall, out = _measure(cmd)
    match = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    succeeded = re.search(r"(\d+) succeeded", out)
    if succeeded and int(succeeded.group(1)) != calls:
        print(f"  warning: h2load: only {succeeded.group(1)} of {calls} succeeded")
    return {"cpu_us": cpu / calls * 1e6, "rps": float(match.group(1)) if match else calls / wall}


def _wrk(port: int, seconds: int, folder: Path) -> dict[str, float]:
    script = folder / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.body = \'{"message":"hello"}\'\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    cmd = ["wrk", "-t1", "-c50", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}{PATH}"]
    cpu, _, out = _measure(cmd)
    total = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = int(total.group(1)) if total else 0
    return {"cpu_us": cpu / count * 1e6 if count else 0.0, "rps": float(rate.group(1)) if rate else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--calls", type=int, default=30000, help="calls per rpcctl/h2load run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="N for the N-worker runs")
    parser.add_argument("--wrk-seconds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2, help="runs per rpcctl figure (least CPU counts)")
    parser.add_argument(
        "--channel", action="store_true", help="also time Connect/gRPC-Web through HttpChannel (slow)"
    )
    parser.add_argument(
        "--only", action="append", default=[], help="run only rows whose name contains this (repeatable)"
    )
    args = parser.parse_args()
    missing = [tool for tool in ("nginx", "h2load", "wrk") if shutil.which(tool) is None]
    if missing:
        print(f"bench_cpu: skipped, not installed: {', '.join(missing)} "
              "(apt-get install nginx nghttp2-client wrk)")  # fmt: skip
        return
    folder = Path(tempfile.mkdtemp(prefix="rpcctl-bench-cpu-"))
    folder.chmod(0o755)  # nginx's workers run as an unprivileged user when started by root
    grpc_port, http_port = _free_port(), _free_port()
    config = _nginx_config(folder, grpc_port, http_port)
    nginx = subprocess.Popen(["nginx", "-c", str(config), "-p", str(folder)], stderr=subprocess.PIPE)
    script = folder / "rpcctl_bench.py"
    script.write_text(BENCH)
    try:
        time.sleep(0.5)
        if nginx.poll() is not None:
            raise SystemExit(f"nginx did not start: {nginx.stderr.read().decode() if nginx.stderr else ''}")
        rows: list[tuple[str, dict[str, float]]] = []
        grpc_target = f"127.0.0.1:{grpc_port}"
        http_target = f"http://127.0.0.1:{http_port}"
        calls, repeat = args.calls, args.repeat

        def add(name: str, measure: Callable[..., dict[str, float]]) -> None:
            if not rows or not args.only or any(word in name for word in args.only):
                rows.append((name, measure()))

        add("h2load (C), gRPC unary, 1 conn, 50 streams", lambda: _h2load(grpc_port, calls * 4, folder))
        add("wrk (C), HTTP/1.1 POST, 50 conns", lambda: _wrk(http_port, args.wrk_seconds, folder))
        grpc = ["--protocol", "grpc"]
        for workers in (1, args.workers):
            add(f"rpcctl bench grpc, -c 50, {workers} worker(s)",
                lambda w=workers: _rpcctl(script, grpc_target, calls, w, grpc, repeat))  # fmt: skip
        if args.channel:
            add("  grpc through grpcio, 1 worker",
                lambda: _rpcctl(script, grpc_target, calls, 1, grpc, repeat, {"RPCCTL_BENCH_LEAN": "0"}))  # fmt: skip
        for protocol in ("connect", "grpc-web"):
            codec = ["--codec", "json" if protocol == "connect" else "proto"]
            h1 = ["--protocol", protocol, *codec, "--http1"]
            h2 = ["--protocol", protocol, *codec, "--http2"]
            for workers in (1, args.workers):
                add(f"rpcctl bench {protocol} HTTP/1.1, -c 50, {workers} worker(s)",
                    lambda w=workers, h1=h1: _rpcctl(script, http_target, calls, w, h1, repeat))  # fmt: skip
            if args.channel:
                add(f"  {protocol} HTTP/1.1 through HttpChannel, 1 worker",
                    lambda h1=h1: _rpcctl(script, http_target, max(1000, calls // 5), 1, h1, repeat,
                                          {"RPCCTL_BENCH_LEAN": "0"}))  # fmt: skip
            for workers in (1, args.workers):
                add(f"rpcctl bench {protocol} h2c, -c 50, {workers} worker(s)",
                    lambda w=workers, h2=h2: _rpcctl(script, grpc_target, calls, w, h2, repeat))  # fmt: skip
            if args.channel:
                add(f"  {protocol} h2c through HttpChannel, 1 worker",
                    lambda h2=h2: _rpcctl(script, grpc_target, max(1000, calls // 5), 1, h2, repeat,
                                          {"RPCCTL_BENCH_LEAN": "0"}))  # fmt: skip
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    h2load_rps = rows[0][1]["rps"]
    print(f"{'client':<52} {'calls/s':>10} {'CPU/call':>10} {'vs h2load calls/s':>18}")
    for name, row in rows:
        print(f"{name:<52} {row['rps']:>10.0f} {row['cpu_us']:>8.0f}µs {row['rps'] / h2load_rps:>17.2f}x")


if __name__ == "__main__":
    main()
