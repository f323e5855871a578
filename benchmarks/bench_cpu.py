"""Client CPU per call and calls/s of rpcctl's call paths, next to h2load and wrk.

    python benchmarks/bench_cpu.py [--calls 20000] [--workers 2] [--wrk-seconds 3] [--repeat 2] [--only WORD]

Two servers, each in its own process:

- nginx (private config, 127.0.0.1 only, one worker) answering Echo with static bytes: native
  gRPC on an h2c port (a pre-encoded envelope and a `grpc-status: 0` trailer), Connect
  (`application/json`) and gRPC-Web on both that port and an HTTP/1.1 port (routed by content
  type). It costs almost nothing, so what is measured is the client. Unary rows use it.
- rpcctl's own server with the test service (`Count` streams, `Chat` is bidi), for the
  streaming rows: nginx cannot stream.

Rows: h2load and wrk (the C references); `rpcctl bench` unary per protocol and HTTP version
(the bench path, `RpcChannel.unary`); unary calls in a loop through `RpcChannel.unary` and
through the general stream API `Channel.open` (what `call`, replay and the proxy use;
`benchmarks/channel_loop.py`); `rpcctl bench` server-streaming and bidi per protocol. The last
column is each row's CPU per call over the bench path's for the same protocol and HTTP version,
in the same run.

CPU is user+sys of the client process tree (`RUSAGE_CHILDREN`, which counts worker processes
once they are waited for). For `rpcctl bench` the fixed start-up cost (imports, schema) is
removed by running with few and with many calls and dividing the difference (least CPU of
`--repeat` runs each); `channel_loop.py` times its measured calls itself. `--only WORD` runs
only the rows whose name contains WORD (and the h2load baseline). Needs nginx, h2load
(nghttp2-client) and wrk; without them it says so and exits 0.
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
CHANNEL_LOOP = Path(__file__).resolve().parent / "channel_loop.py"
STREAM_MESSAGES = 10  # responses per server-streaming call, requests (and responses) per bidi call
SERVE = (
    "import asyncio, sys\n"
    f"sys.path.insert(0, {str(ROOT)!r})\n"
    "from rpcctl.server.builtin import add_builtin_services\n"
    "from rpcctl.server.serve import Server\n"
    "from tests.server.service import make_table\n"
    "from tests.support.schema import compile_test_schema\n"
    "async def main():\n"
    "    schema = compile_test_schema()\n"
    "    table = make_table(schema)\n"
    "    add_builtin_services(table, schema)\n"
    "    async with Server(table, listen='127.0.0.1:0', schema=schema) as server:\n"
    "        print(server.url, flush=True)\n"
    "        await asyncio.Event().wait()\n"
    "asyncio.run(main())\n"
)
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
    method: str = "Echo",
) -> dict[str, float]:
    """CPU per call (start-up removed) and calls/s of rpcctl bench.

    Each size runs `repeat` times and the least CPU counts: start-up (imports, spawning
    workers) varies by tens of ms from run to run on a shared machine, noise that would
    otherwise land on the per-call figure.
    """

    def run(count: int) -> tuple[float, dict[str, object]]:
        cmd = [sys.executable, str(script), target, method, "-n", str(count), "-c", "50",
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
    if cpu_big <= cpu_small:
        print(f"  warning: start-up noise exceeds the CPU of {calls - small} calls: raise --calls")
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


def _channel_loop(target: str, path: str, calls: int, extra: list[str]) -> dict[str, float]:
    """CPU per call and calls/s of unary calls through one path of `RpcChannel` (least CPU of 2)."""
    cmd = [sys.executable, str(CHANNEL_LOOP), target, "--path", path, "--calls", str(calls), *extra]
    runs = [json.loads(_measure(cmd)[2]) for _ in range(2)]
    return min(runs, key=lambda run: run["cpu_us"])  # type: ignore[no-any-return]


def _start_rpcctl_server(folder: Path) -> tuple[subprocess.Popen[str], str]:
    script = folder / "serve_test_service.py"
    script.write_text(SERVE)
    server = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    if not url:
        raise SystemExit(f"rpcctl's server did not start: {server.stderr.read() if server.stderr else ''}")
    return server, url


def main() -> None:
    """Start the servers, measure every row, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--calls", type=int, default=20000, help="calls per rpcctl/h2load run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="N for the N-worker runs")
    parser.add_argument("--wrk-seconds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2, help="runs per rpcctl figure (least CPU counts)")
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
    rpcctl_server: subprocess.Popen[str] | None = None
    # (name, server, figures, the bench-path row it compares with)
    rows: list[tuple[str, str, dict[str, float], str | None]] = []
    try:
        time.sleep(0.5)
        if nginx.poll() is not None:
            raise SystemExit(f"nginx did not start: {nginx.stderr.read().decode() if nginx.stderr else ''}")
        grpc_target = f"127.0.0.1:{grpc_port}"
        http_target = f"http://127.0.0.1:{http_port}"
        calls, repeat = args.calls, args.repeat

        def add(
            name: str, server: str, measure: Callable[[], dict[str, float]], base: str | None = None
        ) -> None:
            if not rows or not args.only or any(word in name for word in args.only):
                rows.append((name, server, measure(), base))

        add(
            "h2load (C), gRPC unary, 1 conn, 50 streams",
            "nginx",
            lambda: _h2load(grpc_port, calls * 4, folder),
        )
        add("wrk (C), HTTP/1.1 POST, 50 conns", "nginx", lambda: _wrk(http_port, args.wrk_seconds, folder))
        # (label, target, bench options, channel_loop options)
        unary_cases = [
            ("grpc h2c", grpc_target, ["--protocol", "grpc"], ["--protocol", "grpc"]),
            ("connect HTTP/1.1", http_target, ["--protocol", "connect", "--codec", "json", "--http1"],
             ["--protocol", "connect", "--codec", "json"]),
            ("connect h2c", grpc_target, ["--protocol", "connect", "--codec", "json", "--http2"],
             ["--protocol", "connect", "--codec", "json", "--http2"]),
            ("grpc-web HTTP/1.1", http_target, ["--protocol", "grpc-web", "--http1"], ["--protocol", "grpc-web"]),
            ("grpc-web h2c", grpc_target, ["--protocol", "grpc-web", "--http2"],
             ["--protocol", "grpc-web", "--http2"]),
        ]  # fmt: skip
        for label, target, bench_opts, loop_opts in unary_cases:
            bench_row = f"rpcctl bench {label} unary, -c 50, 1 worker"
            add(
                bench_row,
                "nginx",
                lambda t=target, o=bench_opts: _rpcctl(script, t, calls, 1, o, repeat),
                bench_row,
            )
            if args.workers > 1:
                add(f"rpcctl bench {label} unary, -c 50, {args.workers} workers", "nginx",
                    lambda t=target, o=bench_opts: _rpcctl(script, t, calls, args.workers, o, repeat), bench_row)  # fmt: skip
            add(f"  {label} unary, RpcChannel.unary loop", "nginx",
                lambda t=target, o=loop_opts: _channel_loop(t, "unary", calls, o), bench_row)  # fmt: skip
            add(f"  {label} unary, Channel.open loop (call/replay/proxy)", "nginx",
                lambda t=target, o=loop_opts: _channel_loop(t, "open", calls, o), bench_row)  # fmt: skip
        rpcctl_server, url = _start_rpcctl_server(folder)
        # Enough calls that the per-call CPU stands well above start-up noise (tens of ms).
        stream_calls = max(2000, calls // 5)
        for protocol, flags in (("grpc", []), ("connect", ["--http2"]), ("grpc-web", ["--http2"])):
            label = "grpc h2c" if protocol == "grpc" else f"{protocol} h2c"
            base = f"rpcctl bench {label} unary, -c 50, 1 worker"
            opts = ["--protocol", protocol, "--codec", "proto", *flags]
            count = ["-d", f'{{"count": {STREAM_MESSAGES}}}']
            add(f"rpcctl bench {label} server-stream x{STREAM_MESSAGES}", "rpcctl serve",
                lambda o=opts, c=count: _rpcctl(script, url, stream_calls, 1, [*o, *c], repeat, method="Count"), base)  # fmt: skip
            chat = ["-d", '{"message": "hi"}', "--stream-messages", str(STREAM_MESSAGES)]
            add(f"rpcctl bench {label} bidi x{STREAM_MESSAGES}", "rpcctl serve",
                lambda o=opts, c=chat: _rpcctl(script, url, stream_calls, 1, [*o, *c], repeat, method="Chat"), base)  # fmt: skip
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        if rpcctl_server is not None:
            rpcctl_server.terminate()
            rpcctl_server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    figures = {name: row for name, _, row, _ in rows}
    h2load_rps = rows[0][2]["rps"]
    print(
        f"{'client':<64} {'server':<13} {'calls/s':>9} {'CPU/call':>10} {'vs h2load/s':>12} {'vs bench CPU':>13}"
    )
    for name, server, row, base in rows:
        ratio = f"{row['cpu_us'] / figures[base]['cpu_us']:>12.2f}x" if base in figures else f"{'':>13}"
        print(f"{name:<64} {server:<13} {row['rps']:>9.0f} {row['cpu_us']:>8.1f}µs "
              f"{row['rps'] / h2load_rps:>11.2f}x {ratio}")  # fmt: skip


if __name__ == "__main__":
    main()
