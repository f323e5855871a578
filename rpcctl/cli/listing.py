"""`rpcctl list [TARGET] [SERVICE]`: services, or one service's methods."""

from __future__ import annotations

from typing import Annotated

import typer

from rpcctl.cli import options as o
from rpcctl.cli.command import environment
from rpcctl.cli.completion import complete_service
from rpcctl.cli.listing_run import list_schema

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
    params = dict(locals())
    del params["ctx"]
    list_schema(environment(ctx), **params)
