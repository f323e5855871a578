"""`rpcctl replay CAPTURE --target URL`: re-run the runner sessions of a capture on a target.

Progress lines go to stderr as the replay goes (with `-v`, one line per call too); the
summary goes to stdout, for people on a terminal, as one JSON object when piped or with
`--json`. Exit 0 when every answer agreed, 1 when a call failed or an answer disagreed
(ack, UpdateTask success), 2 for bad input (unreadable capture, unknown `--tx`).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from rpcctl.cli import options as o
from rpcctl.cli.command import environment, run
from rpcctl.wire.metadata import sanitize_for_terminal

if TYPE_CHECKING:
    from rpcctl.runner.replay import ReplaySummary

REPLAY = "Replay"


EXAMPLES = (
    (
        "replay a capture onto a staging server as fast as it goes",
        "rpcctl replay run.jsonl --target http://staging:8080 --speed max",
    ),
    (
        "ten copies of each recorded runner, over native gRPC",
        "rpcctl replay run.jsonl -t localhost:8080 --protocol grpc --runners 10",
    ),
    (
        "one recorded task only, the summary as JSON",
        "rpcctl replay run.jsonl -t localhost:8080 --tx TX_UUID --json",
    ),
)


def replay_command(
    ctx: typer.Context,
    capture: Annotated[Path, typer.Argument(help="A capture file (tail-logs --record).", show_default=False)],
    target: Annotated[
        str,
        typer.Option(
            "--target",
            "-t",
            metavar="URL",
            rich_help_panel=o.CONN,
            help="Server to replay onto: http://host:port[/prefix], https://…, unix:///path.sock, host:port.",
            show_default=False,
        ),
    ],
    speed: Annotated[
        str,
        typer.Option(
            "--speed",
            metavar="FACTOR|max",
            help="1 keeps the recorded pacing, 10 is ten times faster, max does not wait.",
            rich_help_panel=REPLAY,
        ),
    ] = "1",
    runners: Annotated[
        int,
        typer.Option(
            "--runners",
            min=1,
            max=10_000,
            help="Copies of each recorded runner, run at once.",
            rich_help_panel=REPLAY,
        ),
    ] = 1,
    tx: Annotated[
        str | None,
        typer.Option(
            "--tx",
            metavar="TX_UUID",
            help="Replay only this recorded task (its tx_uuid).",
            rich_help_panel=REPLAY,
        ),
    ] = None,
    as_tx: Annotated[
        str | None,
        typer.Option(
            "--as-tx",
            metavar="TX_UUID",
            help="Task id to replay onto when the target's FetchTask names none (the target's wins).",
            rich_help_panel=REPLAY,
        ),
    ] = None,
    registration_token: Annotated[
        str | None,
        typer.Option(
            "--registration-token",
            metavar="TOKEN",
            help="Token for Register (default: the recorded one, unless redacted).",
            rich_help_panel=REPLAY,
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", rich_help_panel=o.OUTPUT, help="Print the summary as JSON, even on a terminal."
        ),
    ] = False,
    protocol: o.Protocol = "connect",
    codec: o.Codec = None,
    grpc_web_text: o.GrpcWebText = False,
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
    headers: o.Headers = None,
    timeout: o.CallTimeout = "20s",
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", rich_help_panel=o.OUTPUT, help="One line per call on stderr.")
    ] = False,
    skip_bad_lines: Annotated[
        bool,
        typer.Option(
            "--skip-bad-lines", rich_help_panel=REPLAY, help="Skip capture lines that cannot be read."
        ),
    ] = False,
) -> None:
    """Re-run the runner sessions of a capture against a server, checking every answer."""
    env = environment(ctx)

    async def main() -> int:
        from rpcctl.cli import session
        from rpcctl.errors import UsageError
        from rpcctl.runner.replay import ReplayOptions, parse_speed, replay
        from rpcctl.wire.timeout import parse_duration

        pace = parse_speed(speed)
        if runners < 1:
            raise UsageError("--runners must be at least 1")
        settings = o.channel_settings(target, **o.connection_params(ctx.params))
        metadata = session.parse_headers(headers)
        options = ReplayOptions(
            speed=pace,
            runners=runners,
            tx=tx,
            as_tx=as_tx,
            registration_token=registration_token,
            headers=tuple(metadata),
            call_timeout=parse_duration(timeout, "--timeout"),
        )

        def progress(line: str) -> None:
            # A server's status message is in these lines: escaped, and kept to one line.
            shown = sanitize_for_terminal(line).replace("\n", "\\n")
            env.stderr.write(f"replay: {shown}\n")
            env.stderr.flush()

        def observe(method: str, seconds: float, error: BaseException | None) -> None:
            status = "OK" if error is None else f"failed: {error}"
            progress(f"{method} {status} {seconds * 1000:.1f}ms")

        from rpcctl.proxy.capture import read_capture

        source = read_capture(capture)
        source.skip_bad_lines = skip_bad_lines
        summary = await replay(
            source, settings, options, progress=progress, observer=observe if verbose else None
        )
        if json_output or not env.stdout_isatty:
            import json

            env.stdout.write(json.dumps(summary.to_json(), separators=(",", ":")) + "\n")
        else:
            _print_human(env.stdout, summary)
        env.stdout.flush()
        return 0 if summary.ok else 1

    run(env, main, verbose=verbose)


def _print_human(out: IO[str], summary: ReplaySummary) -> None:
    """The summary for people."""
    data = summary.to_json()
    out.write(
        f"replayed {data['sessions']} session(s) as {data['runners']} runner(s) onto {data['target']}"
        f" over {data['protocol']} in {data['duration']:.2f}s\n"
    )
    out.write(
        f"  calls {data['calls']}, rows {data['rows']} ({data['rows_resent']} resent), "
        f"acks that disagreed {data['ack_mismatches']}, UpdateTask failures {data['update_failures']}, "
        f"errors {data['errors']}\n"
    )
    for recorded, targets in data["tasks"].items():
        out.write(f"  task {recorded} -> {', '.join(targets)}\n")
    if data["cancelled"]:
        out.write(f"  cancelled by the target: {', '.join(data['cancelled'])}\n")
    if data["skipped"]:
        out.write(f"  {data['skipped']} recorded call(s) not replayed (empty polls, pings, failed calls)\n")
    if data["last_error"]:
        out.write(f"  last error: {data['last_error']}\n")
    out.write("OK\n" if data["ok"] else "FAILED: answers disagreed or calls failed\n")
