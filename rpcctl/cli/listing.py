"""`rpcctl list [TARGET] [SERVICE]`: services, or one service's methods."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rpcctl.cli import options as o
from rpcctl.cli.command import environment, run
from rpcctl.cli.completion import complete_service

HIDDEN_PREFIXES = ("grpc.reflection.",)


EXAMPLES = (
    ("the services of a server, by reflection", "rpcctl list localhost:8080"),
    ("one service's methods, with their stream kinds", "rpcctl list localhost:8080 acme.v1.Greeter"),
    ("the services of local .proto files, no server", "rpcctl list --proto greeter.proto -I protos"),
)


def list_command(
    ctx: typer.Context,
    target: o.OptionalTarget = None,
    service: Annotated[
        str | None,
        typer.Argument(
            help="List this service's methods.", show_default=False, autocompletion=complete_service
        ),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Include the reflection service.", rich_help_panel=o.OUTPUT)
    ] = False,
    protocol: o.Protocol = "connect",
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
    protos: o.Protos = None,
    import_paths: o.ImportPaths = None,
    protosets: o.Protosets = None,
    reflect: o.Reflect = None,
    export_protoset: o.ExportProtoset = None,
    headers: o.Headers = None,
    reflect_headers: o.ReflectHeaders = None,
    no_cache: o.NoCache = False,
    timeout: o.Timeout = None,
    verbose: o.Verbose = False,
) -> None:
    """List services, or the methods of one service with their stream kinds."""
    env = environment(ctx)

    async def main() -> int:
        from rpcctl.cli import session
        from rpcctl.schema.registry import CallKind

        target_text, service_name = session.split_target(target, service)
        if service_name is None:
            loaded = await session.load_for_target(env, target_text, ctx.params)
            names = {svc.full_name for svc in loaded.schema.services()}
            names.update(loaded.unresolved_services)
            shown = sorted(n for n in names if show_all or not n.startswith(HIDDEN_PREFIXES))
            for name in shown:
                env.stdout.write(name + "\n")
            if not shown:
                env.stderr.write(_no_services(loaded, hidden=len(names)))
            return 0
        _, svc = await session.load_and_find(
            env, target_text, ctx.params, service_name, lambda schema: schema.find_service(service_name)
        )
        rows = [
            (
                f"{svc.full_name}.{m.name}",
                CallKind.of(m).label,
                f"{m.input_type.full_name} → {m.output_type.full_name}",
            )
            for m in svc.methods
        ]
        width = max((len(r[0]) for r in rows), default=0)
        kind_width = max((len(r[1]) for r in rows), default=0)
        for name, kind, types in rows:
            env.stdout.write(f"{name.ljust(width)}  {kind.ljust(kind_width)}  {types}\n")
        return 0

    run(env, main, verbose=verbose)


def _no_services(loaded: Any, hidden: int) -> str:
    """The stderr line of a `list` with nothing to show (stdout stays empty for scripts)."""
    if hidden:
        return "no services but server reflection itself (--all lists it)\n"
    if any(source.startswith("server reflection") for source in loaded.sources):
        return "the server lists no services\n"
    return "no services in the schema files\n"
