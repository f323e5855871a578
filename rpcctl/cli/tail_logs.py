"""`rpcctl tail-logs`: watch the logs CI runners push with UpdateLog, live or from a capture.

Modes: `--listen ADDR --upstream URL` (recording proxy), `--listen ADDR` (stand-in
server), `--from CAPTURE` (offline). The TUI on a terminal; with `--headless` or when
stdout is not a terminal, one line per row and state change, and a summary on exit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from rpcctl.cli import options as o
from rpcctl.cli.command import environment, run

EXAMPLES = (
    (
        "watch and record what runners send to a real server",
        "rpcctl tail-logs --listen 127.0.0.1:8081 --upstream http://ci.internal:8080 --record run.jsonl",
    ),
    (
        "a stand-in server for runners, lines instead of the TUI",
        "rpcctl tail-logs --listen 127.0.0.1:8080 --prefix /api/v1/pipeline --headless",
    ),
    ("look at a capture again, offline", "rpcctl tail-logs --from run.jsonl"),
)


def tail_logs_command(
    ctx: typer.Context,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            "-l",
            metavar="ADDR",
            rich_help_panel="Mode",
            help="Serve here (host:port, port 0 = any free port).",
        ),
    ] = None,
    upstream: Annotated[
        str | None,
        typer.Option(
            "--upstream",
            metavar="URL",
            rich_help_panel="Mode",
            help="Forward to this server and record (proxy mode).",
        ),
    ] = None,
    from_capture: Annotated[
        Path | None,
        typer.Option(
            "--from", metavar="FILE", rich_help_panel="Mode", help="Read a capture file instead of listening."
        ),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record",
            metavar="FILE",
            rich_help_panel="Capture",
            help="Write every call to this capture file.",
        ),
    ] = None,
    no_redact: Annotated[
        bool,
        typer.Option(
            "--no-redact",
            rich_help_panel="Capture",
            help="Keep credentials (tokens, authorization) in the capture.",
        ),
    ] = False,
    redact_headers: Annotated[
        list[str] | None,
        typer.Option(
            "--redact-header",
            metavar="NAME",
            rich_help_panel="Capture",
            help="Also redact this header in the capture (repeatable); names with auth, token, secret, "
            "key, session, signature, password, credential or cookie in them always are.",
        ),
    ] = None,
    redact_fields: Annotated[
        list[str] | None,
        typer.Option(
            "--redact-field",
            metavar="PATH",
            rich_help_panel="Capture",
            help="Also redact this message field, a dot path of JSON names that enters JSON held in "
            "strings, e.g. content.env.DEPLOY_PASS (repeatable).",
        ),
    ] = None,
    skip_bad_lines: Annotated[
        bool,
        typer.Option(
            "--skip-bad-lines",
            rich_help_panel="Capture",
            help="With --from: skip capture lines that cannot be read.",
        ),
    ] = False,
    prefix: Annotated[
        str,
        typer.Option(
            "--prefix",
            metavar="PATH",
            rich_help_panel="Stand-in server",
            help="Stand-in mode: the service's path prefix, e.g. /api/v1/pipeline.",
        ),
    ] = "",
    tasks: Annotated[
        Path | None,
        typer.Option(
            "--tasks",
            metavar="FILE",
            rich_help_panel="Stand-in server",
            help="Stand-in mode: tasks FetchTask hands out (JSON list).",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            rich_help_panel="Stand-in server",
            help="Stand-in mode: answer NOT_FOUND for a task it did not hand out "
            "[default: adopt it, marked adopted].",
        ),
    ] = False,
    replay_target: Annotated[
        str | None,
        typer.Option(
            "--replay-target",
            metavar="URL",
            rich_help_panel=o.OUTPUT,
            help="Where the r key replays the selected task.",
        ),
    ] = None,
    upstream_http2: Annotated[
        bool | None,
        typer.Option(
            "--upstream-http2/--upstream-http1",
            rich_help_panel="Mode",
            help="Proxy mode: reach the upstream over h2c (HTTP/2 prior knowledge) or HTTP/1.1 "
            "[default: h2c first, HTTP/1.1 if the upstream lacks HTTP/2].",
            show_default=False,
        ),
    ] = None,
    upstream_headers: Annotated[
        list[str] | None,
        typer.Option(
            "--upstream-header",
            metavar="'NAME: VALUE'",
            rich_help_panel="Mode",
            help="Proxy mode: add this header to every request sent upstream (repeatable).",
        ),
    ] = None,
    upstream_insecure: Annotated[
        bool,
        typer.Option(
            "--upstream-insecure",
            rich_help_panel="Mode",
            help="Proxy mode: accept any certificate from an https:// upstream.",
        ),
    ] = False,
    upstream_cacert: Annotated[
        Path | None,
        typer.Option(
            "--upstream-cacert",
            metavar="FILE",
            rich_help_panel="Mode",
            help="Proxy mode: trust these CA certificates (PEM) for an https:// upstream.",
        ),
    ] = None,
    upstream_cert: Annotated[
        Path | None,
        typer.Option(
            "--upstream-cert",
            metavar="FILE",
            rich_help_panel="Mode",
            help="Proxy mode: client certificate (PEM) for an https:// upstream (with --upstream-key).",
        ),
    ] = None,
    upstream_key: Annotated[
        Path | None,
        typer.Option(
            "--upstream-key", metavar="FILE", rich_help_panel="Mode", help="Proxy mode: the client key (PEM)."
        ),
    ] = None,
    upstream_servername: Annotated[
        str | None,
        typer.Option(
            "--upstream-servername",
            metavar="NAME",
            rich_help_panel="Mode",
            help="Proxy mode: the TLS server name (SNI and verification) of the upstream.",
        ),
    ] = None,
    headless: Annotated[
        bool,
        typer.Option(
            "--headless",
            rich_help_panel=o.OUTPUT,
            help="Print lines instead of the TUI (default when piped).",
        ),
    ] = False,
    protos: o.Protos = None,
    import_paths: o.ImportPaths = None,
    protosets: o.Protosets = None,
) -> None:
    """Watch runners' logs live (proxy or stand-in server) or from a capture."""
    env = environment(ctx)

    async def main() -> int:
        from rpcctl.cli.presenting import present
        from rpcctl.errors import UsageError
        from rpcctl.loader import SchemaRequest, load_schema
        from rpcctl.runner.tailing import IterableSource, SubscriptionSource
        from rpcctl.tui.actions import StatusInfo, TuiActions

        quiet = headless or not env.stdout_isatty
        if from_capture is not None:
            if listen or upstream or record:
                raise UsageError("--from reads a capture: it takes no --listen, --upstream or --record")
            from rpcctl.proxy.capture import iter_events, read_capture

            read_capture(from_capture)  # checks the header: a clear error before the screen opens
            status = StatusInfo(source=str(from_capture))
            actions = TuiActions(
                save_capture=lambda path: _copy(from_capture, path),
                replay_task=_replayer(replay_target, from_capture),
            )
            source = IterableSource(iter_events(from_capture, skip_bad_lines=skip_bad_lines))
            return await present(env, source, headless=quiet, mode="offline", status=status, actions=actions)
        redaction = _redaction(no_redact, redact_headers or [], redact_fields or [])
        if listen is None:
            raise UsageError(
                "give --listen ADDR (stand-in server, or proxy with --upstream URL) or --from FILE"
            )
        upstream_tls = (upstream_insecure, upstream_cacert, upstream_cert, upstream_key, upstream_servername)
        if upstream is None and (upstream_http2 is not None or upstream_headers or any(upstream_tls)):
            raise UsageError("the --upstream-* options (and --upstream-http1) need --upstream URL")
        if upstream is not None and (tasks is not None or prefix or strict):
            raise UsageError(
                "--tasks, --prefix and --strict are for the stand-in server; a proxy forwards everything"
            )
        request = SchemaRequest(tuple(protos or ()), tuple(import_paths or ()), tuple(protosets or ()), False)
        schema = (await load_schema(request, None)).schema
        if upstream is not None:
            from rpcctl.cli.options import channel_settings
            from rpcctl.runner.watch import watch_proxy
            from rpcctl.wire.metadata import parse_header_option

            added = tuple(
                (parse_header_option(h)[0], h.partition(":")[2].strip(" \t")) for h in upstream_headers or ()
            )
            watching = watch_proxy(
                schema,
                listen=listen,
                upstream=channel_settings(
                    upstream,
                    insecure=upstream_insecure,
                    cacert=upstream_cacert,
                    cert=upstream_cert,
                    key=upstream_key,
                    servername=upstream_servername,
                ),
                record=record,
                redact=redaction,
                upstream_http2=upstream_http2,
                upstream_headers=added,
            )
        else:
            from rpcctl.runner.tasks import load_tasks
            from rpcctl.runner.watch import watch_standin

            watching = watch_standin(
                schema,
                listen=listen,
                prefix=prefix,
                tasks=load_tasks(tasks) if tasks is not None else (),
                record=record,
                redact=redaction,
                strict=strict,
            )
        async with watching as watch:
            env.stderr.write(
                f"{watch.mode}: listening on {watch.url}" + (f" → {upstream}" if upstream else "") + "\n"
            )
            env.stderr.flush()
            status = StatusInfo(
                listen=watch.url, upstream=upstream or "", capture_file=str(record or ""), redact=redaction
            )
            actions = TuiActions(
                cancel_task=watch.cancel_task if watch.standin is not None else None,
                save_capture=watch.save_capture,
                replay_task=_replayer(replay_target, watch.capture),
            )
            with watch.bus.subscribe() as subscription:
                return await present(
                    env,
                    SubscriptionSource(subscription),
                    headless=quiet,
                    mode=watch.mode,
                    status=status,
                    actions=actions,
                    drain=watch.drain,
                )

    run(env, main)


def _copy(source: Path, target: str) -> None:
    from rpcctl.proxy.capture import copy_capture

    copy_capture(source, target)


def _replayer(target: str | None, capture: Path | None) -> Callable[[str], Awaitable[str]] | None:
    """The r key's action: replay the selected task from the capture onto `target`."""
    if target is None or capture is None:
        return None
    from rpcctl.cli.options import channel_settings
    from rpcctl.runner.replay import replay_task

    settings = channel_settings(target)
    recorded = capture

    async def replay(tx_uuid: str) -> str:
        from rpcctl.runner.replay_outcome import outcome_line

        summary = await replay_task(recorded, tx_uuid, settings)
        return outcome_line(tx_uuid, target, summary)

    return replay


def _redaction(no_redact: bool, headers: list[str], fields: list[str]) -> Any:
    """False, True or a `Redactor` with the extra names and paths (`UsageError` on a bad one)."""
    from rpcctl.errors import UsageError
    from rpcctl.proxy.redact import Redactor, field_path

    if no_redact:
        if headers or fields:
            raise UsageError("--no-redact keeps everything: it takes no --redact-header or --redact-field")
        return False
    if not headers and not fields:
        return True
    return Redactor(headers=headers, fields=[field_path(path) for path in fields])
