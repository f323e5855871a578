"""`rpcctl serve`: the stand-in RunnerService, with reflection and health, on one port.

On start it prints one line on stderr, for people and for scripts that started it with
port 0 (`READY_FORMAT`; the URL is the target to give clients, prefix included)::

    serving pkg.proto.runner.v1.RunnerService on http://127.0.0.1:8080/api/v1 (connect, grpc, grpc-web)

UpdateTask and UpdateLog for a task it did not hand out (a runner that was already working
when the stand-in (re)started) adopt that task, so no row is lost; with ``--strict`` they
answer NOT_FOUND. It serves until SIGTERM (exit 0) or Ctrl-C (exit 130). An address that cannot be bound
(in use, not local) exits 1; a malformed one, a bad tasks file or an unusable --cert/--key
exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from rpcctl.cli import options as o
from rpcctl.cli.command import environment, run
from rpcctl.server.limits import HEADER_TIMEOUT_S, IDLE_TIMEOUT_S, MAX_CALLS, MAX_CONNECTIONS

if TYPE_CHECKING:
    from rpcctl.call_events import EventBus

READY_FORMAT = "serving {service} on {url} (connect, grpc, grpc-web)"


EXAMPLES = (
    ("the stand-in on a free port (the URL is printed on stderr)", "rpcctl serve --listen 127.0.0.1:0"),
    (
        "hand out tasks from a file, under a path prefix",
        "rpcctl serve --listen 0.0.0.0:8080 --prefix /api/v1/pipeline --tasks tasks.json",
    ),
    (
        "TLS, and only runners with this token",
        "rpcctl serve --listen 0.0.0.0:8443 --cert server.pem --key server.key --registration-token T",
    ),
)


def serve_command(
    ctx: typer.Context,
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            "-l",
            metavar="ADDR",
            rich_help_panel="Listen",
            help="host:port, [::1]:port or unix:/path.sock; port 0 picks a free port.",
        ),
    ] = "127.0.0.1:8080",
    prefix: Annotated[
        str,
        typer.Option(
            "--prefix",
            metavar="PATH",
            rich_help_panel="Listen",
            help="Path prefix of the service, e.g. /api/v1/pipeline.",
        ),
    ] = "",
    tasks: Annotated[
        Path | None,
        typer.Option(
            "--tasks",
            metavar="FILE",
            rich_help_panel="Runners",
            help="Tasks that FetchTask hands out: a JSON (or YAML) list of tasks.",
        ),
    ] = None,
    registration_token: Annotated[
        str | None,
        typer.Option(
            "--registration-token",
            metavar="TOKEN",
            rich_help_panel="Runners",
            help="Only runners registering with this token are accepted.",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            rich_help_panel="Runners",
            help="Answer NOT_FOUND for a task it did not hand out [default: adopt it].",
        ),
    ] = False,
    cert: Annotated[
        Path | None,
        typer.Option(
            "--cert", metavar="FILE", rich_help_panel="Listen", help="Server certificate (PEM): serve TLS."
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", metavar="FILE", rich_help_panel="Listen", help="Private key of --cert (PEM)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="One line per call on stderr.", rich_help_panel=o.OUTPUT)
    ] = False,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout",
            metavar="SECONDS",
            min=0.001,
            max=86_400,
            rich_help_panel="Limits",
            help="Seconds a client has to finish sending a request's headers.",
        ),
    ] = HEADER_TIMEOUT_S,
    idle_timeout: Annotated[
        float,
        typer.Option(
            "--idle-timeout",
            metavar="SECONDS",
            min=0.001,
            max=31_536_000,
            rich_help_panel="Limits",
            help="Seconds before a connection with no call running is closed.",
        ),
    ] = IDLE_TIMEOUT_S,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            min=1,
            max=1_000_000,
            rich_help_panel="Limits",
            help="Connections open at once; more are closed when accepted.",
        ),
    ] = MAX_CONNECTIONS,
    max_calls: Annotated[
        int,
        typer.Option(
            "--max-calls",
            min=1,
            max=1_000_000,
            rich_help_panel="Limits",
            help="HTTP/2 calls in progress at once; more streams are refused.",
        ),
    ] = MAX_CALLS,
) -> None:
    """Serve a stand-in pkg.proto.runner.v1.RunnerService for runners to connect to."""
    env = environment(ctx)

    async def main() -> int:
        import asyncio
        import signal

        from rpcctl.call_events import EventBus
        from rpcctl.errors import TransportError, UsageError
        from rpcctl.runner.handlers import build_table
        from rpcctl.runner.messages import SERVICE
        from rpcctl.runner.standin import StandInService
        from rpcctl.runner.tasks import load_tasks
        from rpcctl.schema.registry import Schema
        from rpcctl.schema.sources import bundled_files
        from rpcctl.server.limits import ServerLimits
        from rpcctl.server.serve import Server, parse_listen

        parse_listen(listen)
        try:
            limits = ServerLimits(header_timeout, idle_timeout, max_connections, max_calls)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if (cert is None) != (key is None):
            raise UsageError("--cert and --key go together")
        queued = load_tasks(tasks) if tasks is not None else []
        schema = Schema(bundled_files())
        service = StandInService(schema, queued, registration_token=registration_token, strict=strict)
        bus = EventBus() if verbose else None
        server = Server(
            build_table(service, schema),
            listen=listen,
            prefix=prefix,
            certfile=cert,
            keyfile=key,
            schema=schema,
            bus=bus,
            limits=limits,
        )
        try:
            await server.start()
        except UsageError as exc:
            if str(exc).startswith("cannot listen on"):  # could not bind: an I/O error, not a usage one
                raise TransportError(str(exc)) from exc
            raise
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        printer = asyncio.create_task(_print_calls(bus, env.stderr)) if bus is not None else None
        try:
            env.stderr.write(READY_FORMAT.format(service=SERVICE, url=server.url) + "\n")
            if verbose:
                env.stderr.write(f"{len(queued)} task(s) queued\n")
            env.stderr.flush()
            stopped = asyncio.create_task(stop.wait())
            serving = asyncio.create_task(server.wait_closed())
            try:
                await asyncio.wait({stopped, serving}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
                serving.cancel()
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            if printer is not None:
                printer.cancel()
            await server.close()
        return 0

    run(env, main, verbose=verbose)


async def _print_calls(bus: EventBus, stream: IO[str]) -> None:
    """One line per finished call: method, status and duration."""
    from rpcctl.call_events import EventKind
    from rpcctl.wire.status import Code

    with bus.subscribe() as events:
        async for event in events:
            if event.kind is not EventKind.END:
                continue
            code = Code.from_number(int(event.info.get("code", 0)))
            millis = float(event.info.get("duration", 0.0)) * 1000
            message = event.info.get("message") or ""
            line = f"{event.method} {code.name} {millis:.1f}ms" + (f" {message}" if message else "")
            stream.write(line + "\n")
            stream.flush()
