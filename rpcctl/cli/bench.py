"""`rpcctl bench TARGET METHOD …`: load-test a method; `rpcctl bench merge A.json B.json …`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rpcctl.cli import options as o
from rpcctl.cli.command import environment, run

if TYPE_CHECKING:
    from rpcctl.bench.report import BenchReport
    from rpcctl.cli.env import Environment

LOAD = "Load"
REPORT = "Report"
TARGETS = "Target and connection"


EXAMPLES = (
    (
        "200 calls, 50 in flight, a ghz-style summary",
        'rpcctl bench localhost:8080 acme.v1.Greeter/SayHello -d \'{"name": "Ada"}\'',
    ),
    (
        "30 s at 500 calls/s over gRPC and Connect, an HTML report",
        "rpcctl bench localhost:8080 SayHello -z 30s --rps 500 --protocol grpc,connect -O html -o r.html",
    ),
    ("merge the JSON reports of several machines", "rpcctl bench merge a.json b.json"),
)


def bench_command(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(
            help="TARGET METHOD (METHOD alone with --target), or: merge REPORT.json…",
            metavar="TARGET METHOD | merge FILE…",
            show_default=False,
        ),
    ],
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency", "-c", min=1, max=100_000, help="Calls in flight.", rich_help_panel=LOAD
        ),
    ] = 50,
    total: Annotated[
        int | None,
        typer.Option(
            "--total",
            "-n",
            min=0,
            max=1_000_000_000,
            help="Stop after this many calls (default 200).",
            rich_help_panel=LOAD,
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            "--duration", "-z", metavar="DURATION", help="Run this long (e.g. 30s).", rich_help_panel=LOAD
        ),
    ] = None,
    rps: Annotated[
        float | None,
        typer.Option(
            "--rps",
            metavar="N",
            min=0,
            max=1_000_000,
            help="Open loop: start this many calls per second.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    load_schedule: Annotated[
        str,
        typer.Option(
            "--load-schedule",
            metavar="const|step|line",
            help=(
                "How the call rate changes over the run: const keeps --rps; step starts at "
                "--load-start and adds --load-step every --load-step-duration; line adds "
                "--load-step per second; both stop at --load-end."
            ),
            rich_help_panel=LOAD,
        ),
    ] = "const",
    load_start: Annotated[
        float,
        typer.Option(
            "--load-start",
            metavar="RATE",
            min=0,
            max=1_000_000,
            help="Starting rate (step, line).",
            rich_help_panel=LOAD,
        ),
    ] = 0.0,
    load_end: Annotated[
        float,
        typer.Option(
            "--load-end",
            metavar="RATE",
            min=0,
            max=1_000_000,
            help="Final rate (step, line).",
            rich_help_panel=LOAD,
        ),
    ] = 0.0,
    load_step: Annotated[
        float,
        typer.Option(
            "--load-step",
            metavar="RATE",
            min=-1_000_000,
            max=1_000_000,
            help="Rate step (step) or slope per second (line).",
            rich_help_panel=LOAD,
        ),
    ] = 0.0,
    load_step_duration: Annotated[
        str,
        typer.Option(
            "--load-step-duration", metavar="DURATION", help="Time per step (step).", rich_help_panel=LOAD
        ),
    ] = "1s",
    warmup: Annotated[
        str | None,
        typer.Option(
            "--warmup",
            metavar="DURATION",
            help="Make calls this long first, uncounted.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    connections: Annotated[
        int,
        typer.Option(
            "--connections", min=1, max=10_000, help="Connections per target.", rich_help_panel=LOAD
        ),
    ] = 1,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, max=256, help="Processes (default: one per core).", rich_help_panel=LOAD
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="I/N",
            help="Run part i/N of the load (several machines).",
            rich_help_panel=LOAD,
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            metavar="JSON|@FILE",
            help="Request JSON or @file; {{templates}} allowed.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    data_file: Annotated[
        Path | None,
        typer.Option(
            "--data-file", metavar="FILE", help="JSON Lines file: one request per line.", rich_help_panel=LOAD
        ),
    ] = None,
    pick: Annotated[
        str,
        typer.Option(
            "--pick",
            metavar="round-robin|random",
            help="Which line of --data-file each call sends: the next one in turn, or any at random.",
            rich_help_panel=LOAD,
        ),
    ] = "round-robin",
    stream_messages: Annotated[
        int | None,
        typer.Option(
            "--stream-messages",
            min=1,
            max=1_000_000_000,
            help="Messages sent per streaming call.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    stream_interval: Annotated[
        str | None,
        typer.Option(
            "--stream-interval",
            metavar="DURATION",
            help="Pause between stream messages.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    targets: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            metavar="ADDR",
            help="A backend (repeatable; ipv4:…, dns:///… too).",
            rich_help_panel=TARGETS,
        ),
    ] = None,
    lb: Annotated[
        str,
        typer.Option(
            "--lb", metavar="POLICY", help="round_robin, pick_first or least_loaded.", rich_help_panel=TARGETS
        ),
    ] = "round_robin",
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-O",
            metavar="summary|json|csv|html",
            help=(
                "summary (ghz-style text), json (for bench merge), csv (a row per protocol and "
                "backend) or html (charts)."
            ),
            rich_help_panel=REPORT,
        ),
    ] = "summary",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the report here.", rich_help_panel=REPORT),
    ] = None,
    max_error_rate: Annotated[
        float,
        typer.Option(
            "--max-error-rate",
            metavar="RATIO",
            min=0,
            max=1,
            help="Exit 1 above this error share (0-1).",
            rich_help_panel=REPORT,
        ),
    ] = 0.0,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario", metavar="runner", help="runner: simulated CI runners.", rich_help_panel=LOAD
        ),
    ] = None,
    runners: Annotated[
        int,
        typer.Option(
            "--runners",
            min=1,
            max=10_000,
            help="Simulated runners (--scenario runner).",
            rich_help_panel=LOAD,
        ),
    ] = 10,
    rows_per_sec: Annotated[
        float,
        typer.Option(
            "--rows-per-sec",
            min=0,
            max=1_000_000,
            help="Log rows per second per runner.",
            rich_help_panel=LOAD,
        ),
    ] = 100.0,
    protocol: Annotated[
        str,
        typer.Option(
            "--protocol",
            metavar="PROTOCOL[,PROTOCOL]",
            help="connect, grpc, grpc-web, or a list: grpc,connect.",
            rich_help_panel=o.CONN,
            autocompletion=o.complete_protocols,
        ),
    ] = "connect",
    codec: o.Codec = None,
    http2: o.Http2 = False,
    http1: o.Http1 = False,
    tls: o.Tls = False,
    insecure: o.Insecure = False,
    cacert: o.CaCert = None,
    cert: o.Cert = None,
    key: o.Key = None,
    servername: o.ServerName = None,
    authority: o.Authority = None,
    connect_timeout: o.ConnectTimeout = None,
    keepalive_time: o.KeepaliveTime = None,
    max_msg_size: o.MaxMsgSize = None,
    protos: o.Protos = None,
    import_paths: o.ImportPaths = None,
    protosets: o.Protosets = None,
    reflect: o.Reflect = None,
    headers: o.Headers = None,
    reflect_headers: o.ReflectHeaders = None,
    rpc_headers: o.RpcHeaders = None,
    no_cache: o.NoCache = False,
    timeout: o.CallTimeout = "20s",
    verbose: o.Verbose = False,
) -> None:
    """Load-test a method (ghz-style), live; or merge JSON reports of several runs."""
    env = environment(ctx)
    params = dict(ctx.params)

    async def main() -> int:
        from rpcctl.bench.render import FORMATS
        from rpcctl.errors import UsageError

        if output_format not in FORMATS:
            raise UsageError(f"unknown report format {output_format!r}: use {', '.join(FORMATS)}")
        if args and args[0] == "merge":
            from rpcctl.bench.report import BenchReport

            if len(args) < 2:
                raise UsageError("bench merge needs at least one JSON report")
            report = BenchReport.merged([BenchReport.load(Path(name)) for name in args[1:]])
        elif scenario is not None:
            from rpcctl.cli.bench_run import run_scenario

            report = await run_scenario(env, args, params)
        else:
            from rpcctl.cli.bench_run import run_bench

            report = await run_bench(env, args, params)
        return _emit(env, report, output_format, output, max_error_rate)

    run(env, main, verbose=verbose)


def _emit(env: Environment, report: BenchReport, fmt: str, output: Path | None, max_error_rate: float) -> int:
    from rpcctl.bench.render import render
    from rpcctl.cli.exit import ExitStatus
    from rpcctl.errors import UsageError

    text = render(report, fmt)
    if output is not None:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        calls = sum(run.result.stats.count for run in report.runs)
        env.stderr.write(f"wrote the {fmt} report of {calls} calls to {output}\n")
    else:
        env.stdout.write(text)
    if report.stopped:
        env.stderr.write("interrupted: the report covers the calls that finished before Ctrl-C\n")
        return ExitStatus.INTERRUPTED
    if report.error_rate > max_error_rate:
        env.stderr.write(f"error: {_failure_line(report, max_error_rate)}\n")
        return ExitStatus.ERROR
    return ExitStatus.OK


def _failure_line(report: BenchReport, max_error_rate: float) -> str:
    """Why the run failed, in one line: the one error every call got (with the advice the run
    found, if any), else the error rate against ``--max-error-rate``."""
    line = f"error rate {report.error_rate:.2%} is above --max-error-rate {max_error_rate:.2%}"
    for one in report.runs:
        stats = one.result.stats
        if stats.count and stats.error_rate >= 1.0 and len(stats.messages) == 1:
            message = next(iter(stats.messages))
            advice = next((w for w in one.result.warnings if "--protocol" in w), None)
            return f"{line}: every {one.protocol} call failed: {advice or message}"
    return line
