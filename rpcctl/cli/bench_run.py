"""Running `rpcctl bench` from the command's parameters: the plan, the requests, the runs.

Split from `rpcctl.cli.bench` (the command and its options) to keep each file small.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rpcctl.bench.plan import BenchPlan
    from rpcctl.bench.report import BenchReport, RunReport
    from rpcctl.cli.env import Environment


def build_plan(params: dict[str, Any]) -> BenchPlan:
    """The load plan the options describe."""
    from rpcctl.bench.plan import BenchPlan, LoadSchedule, Pick, ScheduleKind
    from rpcctl.errors import UsageError
    from rpcctl.wire.timeout import parse_duration

    try:
        kind = ScheduleKind(params["load_schedule"])
        pick = Pick(params["pick"])
    except ValueError as exc:
        raise UsageError(
            f"{exc}: --load-schedule is const, step or line; --pick round-robin or random"
        ) from None
    schedule = None
    if params["rps"] is not None or kind is not ScheduleKind.CONST:
        if kind is ScheduleKind.CONST and (params["rps"] or 0) <= 0:
            raise UsageError("--rps must be positive")
        schedule = LoadSchedule(
            kind,
            rps=params["rps"] or 0.0,
            start=params["load_start"],
            end=params["load_end"],
            step=params["load_step"],
            step_duration=parse_duration(params["load_step_duration"], "--load-step-duration"),
        )
        if kind is not ScheduleKind.CONST and params["duration"] is None and params["total"] is None:
            raise UsageError("a step or line schedule needs --duration or --total")
    interval = params["stream_interval"]
    return BenchPlan(
        concurrency=params["concurrency"],
        total=params["total"],
        duration=parse_duration(params["duration"], "--duration") if params["duration"] else None,
        schedule=schedule,
        warmup=parse_duration(params["warmup"], "--warmup") if params["warmup"] else 0.0,
        timeout=parse_duration(params["timeout"], "--timeout") or None,
        connections=params["connections"],
        stream_messages=params["stream_messages"] or 1,
        stream_interval=parse_duration(interval, "--stream-interval") if interval else 0.0,
        pick=pick,
    )


def split_args(args: list[str], targets: list[str] | None, *, method: bool = True) -> tuple[list[str], str]:
    """(targets, METHOD) from the positional arguments and --target."""
    from rpcctl.errors import UsageError

    wanted = (0 if targets else 1) + (1 if method else 0)
    if len(args) != wanted:
        usage = ("METHOD" if targets else "TARGET METHOD") if method else ("" if targets else "TARGET")
        raise UsageError(f"expected {usage or 'no positional argument'}, got {' '.join(args) or 'nothing'}")
    found = list(targets or []) + ([] if targets else [args[0]])
    return found, args[-1] if method else ""


def request_texts(data: str | None, data_file: Path | None, client_streams: bool) -> list[str]:
    """The request texts: -d values (one template if it holds placeholders) or --data-file lines."""
    import json

    from rpcctl.bench.template import PLACEHOLDER
    from rpcctl.cli.requests import read_data_argument
    from rpcctl.errors import UsageError
    from rpcctl.schema.jsoncodec import parse_json_values

    if data is not None and data_file is not None:
        raise UsageError("-d and --data-file exclude each other")
    if data_file is not None:
        data_file = Path(data_file)  # the parser may hand over the bare string
        try:
            lines = data_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {data_file}: {exc}") from None
        texts = [line for line in lines if line.strip()]
        if not texts:
            raise UsageError(f"{data_file}: no request in it")
        return texts
    if data is None:
        return ["{}"]
    if data == "@-":
        raise UsageError("bench reads requests from -d or --data-file, not stdin")
    text = read_data_argument(data) or ""
    if PLACEHOLDER.search(text):
        return [text]
    values = parse_json_values(text)
    return [json.dumps(value) for value in values] or ["{}"]


async def run_bench(env: Environment, args: list[str], params: dict[str, Any]) -> BenchReport:
    """Run the load once per protocol; Ctrl-C ends it early with the runs so far (`interrupted`)."""
    from rpcctl.bench.balancer import Policy, expand_targets
    from rpcctl.bench.interrupt import StopSwitch
    from rpcctl.bench.payloads import HeaderSpec
    from rpcctl.bench.plan import Shard
    from rpcctl.bench.report import BenchReport
    from rpcctl.call import MethodInfo
    from rpcctl.errors import SchemaError, UsageError

    target_args, method_spec = split_args(args, params["targets"])
    plan = build_plan(params)
    if params["shard"]:
        plan = plan.shard(Shard.parse(params["shard"]))
    protocols = [p.strip() for p in params["protocol"].split(",") if p.strip()]
    if not protocols or len(set(protocols)) != len(protocols):
        raise UsageError("--protocol: give each protocol once, e.g. grpc,connect,grpc-web")
    try:
        policy = Policy(params["lb"])
    except ValueError:
        raise UsageError(
            f"unknown --lb {params['lb']!r}: use round_robin, pick_first or least_loaded"
        ) from None
    addresses = expand_targets(target_args)
    settings = {p: [_settings(address, p, params) for address in addresses] for p in protocols}
    loaded = await _load_schema(env, settings[protocols[0]][0], params)
    try:
        found = loaded.schema.find_method(method_spec)
    except SchemaError as exc:
        if not loaded.from_cache:
            raise loaded.lookup_failed(exc) from exc
        # A cached schema may predate the method: ask the server again, once.
        loaded = await _load_schema(env, settings[protocols[0]][0], {**params, "no_cache": True})
        try:
            found = loaded.schema.find_method(method_spec)
        except SchemaError as again:
            raise loaded.lookup_failed(again) from again
    schema = loaded.schema
    note = loaded.fallback_note(found.containing_service.full_name)
    if note is not None:
        env.stderr.write(note + "\n")
    method = MethodInfo.from_descriptor(found)
    texts = request_texts(params["data"], params["data_file"], method.kind.client_streams)
    header_spec = HeaderSpec((*(params["headers"] or ()), *(params.get("rpc_headers") or ())))
    header_spec.compile()  # bad headers fail before any call
    runs: list[RunReport] = []
    stop = StopSwitch()
    with stop.on_sigint():
        for protocol in protocols:
            if stop.tripped:
                break
            backends = settings[protocol]
            runs.append(
                await _run_protocol(
                    env, schema, found, method, texts, header_spec, backends, plan, policy, params, stop
                )
            )
    return BenchReport(runs, stopped=stop.tripped)


def _settings(address: str, protocol: str, params: dict[str, Any]) -> Any:
    from rpcctl.cli.options import channel_settings, connection_params

    conn = connection_params(params)
    conn["protocol"] = protocol
    return channel_settings(address, **conn)


async def _load_schema(env: Environment, settings: Any, params: dict[str, Any]) -> Any:
    from rpcctl.cli import session
    from rpcctl.client import open_channel

    request = session.schema_request(
        params["protos"],
        params["import_paths"],
        params["protosets"],
        params["reflect"],
        bool(params.get("no_cache")),
    )
    local = bool(request.protos or request.protosets)
    needs_server = request.reflect if request.reflect is not None else not local
    channel = open_channel(settings) if needs_server else None
    metadata = session.parse_headers(params["headers"], params.get("reflect_headers"))
    try:
        return await session.load(env, request, channel, metadata, verbose=params["verbose"])
    finally:
        if channel is not None:
            await channel.aclose()


async def _run_protocol(
    env: Environment,
    schema: Any,
    found: Any,
    method: Any,
    texts: list[str],
    headers: Any,
    backends: list[Any],
    plan: BenchPlan,
    policy: Any,
    params: dict[str, Any],
    stop: Any,
) -> RunReport:
    import datetime

    from rpcctl import __version__
    from rpcctl.bench.job import BenchJob
    from rpcctl.bench.live import LiveView
    from rpcctl.bench.payloads import build_payload_spec, encoder_for
    from rpcctl.bench.plan import default_workers
    from rpcctl.bench.progress import ProgressBoard
    from rpcctl.bench.report import RunReport
    from rpcctl.bench.run import run_load
    from rpcctl.transport.target import RpcProtocol

    first = backends[0]
    codec = "proto" if first.protocol is RpcProtocol.GRPC else first.codec
    cls = schema.message_class(found.input_type)
    payloads = build_payload_spec(
        texts, schema.to_protoset(), found.input_type.full_name, codec, encoder_for(cls, schema.pool, codec)
    )
    job = BenchJob(
        plan=plan,
        method=method,
        backends=tuple((str(s.target), s) for s in backends),
        payloads=payloads,
        headers=headers,
        policy=policy,
    )
    workers = params["workers"] or default_workers()
    workers = max(1, min(workers, plan.concurrency, plan.total if plan.total is not None else workers))
    board = ProgressBoard(workers)
    live = LiveView(
        board,
        env.stderr,
        tty=env.stderr_isatty,
        label=first.protocol.value,
        total=plan.total,
        duration=plan.duration,
        console=env.console(stderr=True) if env.stderr_isatty else None,
    )
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    result = await run_load(job, workers, board, live, stop)
    advice = None if result.interrupted else await _wrong_protocol_advice(first, result.stats)
    if advice is not None:
        result.warnings.append(advice)
    return RunReport(
        protocol=first.protocol.value,
        method=method.path.lstrip("/"),
        targets=[name for name, _ in job.backends],
        result=result,
        options={**_report_options(params, workers), "codec": codec},
        started_at=started,
        rpcctl_version=__version__,
    )


async def _wrong_protocol_advice(settings: Any, stats: Any) -> str | None:
    """When every call failed alike in a way that hides another protocol (a reset before any
    answer, an HTTP/1.1 request answered in HTTP/2), what the server speaks: the one probe
    `rpcctl call` makes (`rpcctl.hints.wrong_protocol_error`), once for the whole run."""
    from rpcctl.client import open_channel
    from rpcctl.errors import RpcError
    from rpcctl.hints import wrong_protocol_error
    from rpcctl.wire.status import Code

    if stats.count == 0 or stats.error_rate < 1.0 or len(stats.messages) != 1:
        return None
    key = next(iter(stats.messages))
    code_name, _, message = key.partition(": ")
    if code_name not in Code.__members__:
        return None
    error = RpcError(Code[code_name], message)
    if "speaks only HTTP/2 (h2c)" in message:
        error.speaks = "h2c"  # type: ignore[attr-defined]  # as the HTTP/1.1 client marks it
    channel = open_channel(settings)
    try:
        better = await wrong_protocol_error(channel.pool, error)
    finally:
        await channel.aclose()
    return None if better is None else str(getattr(better, "message", better))


def _report_options(params: dict[str, Any], workers: int) -> dict[str, Any]:
    keys = (
        "concurrency", "total", "duration", "rps", "load_schedule", "load_start", "load_end", "load_step",
        "load_step_duration", "warmup", "connections", "shard", "lb", "timeout", "stream_messages",
        "stream_interval", "pick",
    )  # fmt: skip
    options = {key: params[key] for key in keys if params.get(key) is not None}
    options["workers"] = workers
    if params.get("data_file") is not None:
        options["data_file"] = str(params["data_file"])
    return options


async def run_scenario(env: Environment, args: list[str], params: dict[str, Any]) -> BenchReport:
    """`--scenario runner`: simulated runners against a RunnerService (in this process); Ctrl-C
    ends it early with the calls that finished (`BenchReport.stopped`)."""
    import datetime

    from rpcctl import __version__
    from rpcctl.bench.interrupt import StopSwitch
    from rpcctl.bench.live import LiveView
    from rpcctl.bench.progress import ProgressBoard
    from rpcctl.bench.report import BenchReport, RunReport
    from rpcctl.bench.scenario import run_runners
    from rpcctl.client import open_channel
    from rpcctl.errors import UsageError
    from rpcctl.wire.timeout import parse_duration

    if params["scenario"] != "runner":
        raise UsageError(f"unknown --scenario {params['scenario']!r}: the one scenario is runner")
    if params["runners"] < 1 or params["rows_per_sec"] <= 0:
        raise UsageError("--runners and --rows-per-sec must be positive")
    target_args, _ = split_args(args, params["targets"], method=False)
    protocol = params["protocol"].split(",")[0].strip()
    settings = _settings(target_args[0], protocol, params)
    duration = parse_duration(params["duration"], "--duration") if params["duration"] else 10.0
    loaded = await _load_schema(env, settings, params)
    channels = [open_channel(settings) for _ in range(params["connections"])]
    board = ProgressBoard(1)
    live = LiveView(
        board,
        env.stderr,
        tty=env.stderr_isatty,
        label=f"runners {protocol}",
        total=None,
        duration=duration,
        console=env.console(stderr=True) if env.stderr_isatty else None,
    )
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    stop = StopSwitch()
    live.start()
    try:
        with stop.on_sigint():
            result, figures = await run_runners(
                channels,
                loaded.schema,
                runners=params["runners"],
                rows_per_sec=params["rows_per_sec"],
                duration=duration,
                board=board,
                stop=stop,
            )
    finally:
        await live.stop(interrupted=stop.tripped)
        for channel in channels:
            await channel.aclose()
    run = RunReport(
        protocol=protocol,
        method="pkg.proto.runner.v1.RunnerService/UpdateLog",
        targets=[str(settings.target)],
        result=result,
        options={"scenario": "runner", "runners": params["runners"], "rows_per_sec": params["rows_per_sec"],
                 "duration": params["duration"] or "10s", "connections": params["connections"]},
        started_at=started,
        scenario=figures,
        rpcctl_version=__version__,
    )  # fmt: skip
    return BenchReport([run], stopped=stop.tripped)
