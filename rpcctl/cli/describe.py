"""`rpcctl describe [TARGET] SYMBOL [--template]`: a symbol as proto source, or a request skeleton."""

from __future__ import annotations

from typing import Annotated

import typer

from rpcctl.cli import options as o
from rpcctl.cli.command import environment
from rpcctl.cli.completion import complete_symbol
from rpcctl.cli.describe_run import describe_symbol

EXAMPLES = (
    ("a message as proto source", "rpcctl describe localhost:8080 acme.v1.HelloRequest"),
    ("a JSON request to fill in and pass to call -d", "rpcctl describe localhost:8080 SayHello --template"),
    ("a service from a compiled protoset, no server", "rpcctl describe --protoset api.pb acme.v1.Greeter"),
)


def describe_command(
    ctx: typer.Context,
    target: o.OptionalTarget = None,
    symbol: Annotated[
        str | None,
        typer.Argument(
            help="A service, method, message or enum (full name or unique suffix), or a file (a/b.proto).",
            show_default=False,
            autocompletion=complete_symbol,
        ),
    ] = None,
    template: Annotated[
        bool,
        typer.Option("--template", help="Print a JSON request with every field.", rich_help_panel=o.OUTPUT),
    ] = False,
    color: o.Color = "auto",
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
    """Show a service, method, message or enum in proto syntax."""
    params = dict(locals())
    del params["ctx"]
    describe_symbol(environment(ctx), **params)
