"""`rpcctl call TARGET METHOD [-d JSON|@file|@-]`: invoke any method, print what comes back."""

# No `from __future__ import annotations`: typer reads call_command's ~35 annotations twice
# (inspect.signature and typing.get_type_hints); evaluated once here, not parsed from strings
# four times, they save ~2 ms of every call's start-up (issue 14).

# The declaration alone: options, help, examples, completion. What the command does is
# `rpcctl.cli.call_run.call`, which a plainly valid command line reaches without typer.

from typing import Annotated

import typer

from rpcctl.cli import options as o
from rpcctl.cli.call_run import call
from rpcctl.cli.command import environment
from rpcctl.cli.completion import complete_method

EXAMPLES = (
    (
        "a unary call, the schema by server reflection",
        """rpcctl call localhost:8080 acme.v1.Greeter/SayHello -d '{"name": "Ada"}'""",
    ),
    (
        "native gRPC, the schema from a .proto file, a 5s deadline",
        "rpcctl call --protocol grpc --proto greeter.proto -I protos --timeout 5s localhost:9090 SayHello",
    ),
    (
        "a client stream from a file of JSON values, with a header",
        "rpcctl call https://api.example.com acme.v1.Log/Upload -d @rows.jsonl -H 'authorization: Bearer T'",
    ),
)


def call_command(
    ctx: typer.Context,
    target: o.Target,
    method: Annotated[
        str,
        typer.Argument(
            help="pkg.Svc/Method, pkg.Svc.Method or a unique suffix.",
            show_default=False,
            autocompletion=complete_method,
        ),
    ],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            help=(
                "Request JSON, @FILE, or @- for stdin (a stream: several values). Without it, one "
                "empty request {} (none for a client stream)."
            ),
            metavar="JSON|@FILE|@-",
            rich_help_panel=o.REQUEST,
        ),
    ] = None,
    emit_defaults: Annotated[
        bool,
        typer.Option(
            "--emit-defaults",
            help=(
                'Print fields without presence that hold their default (0, "", false, [], {}); '
                "unset optional fields and messages stay out, as the proto3 JSON mapping says."
            ),
            rich_help_panel=o.OUTPUT,
        ),
    ] = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="json or text (protobuf text format).",
            metavar="json|text",
            rich_help_panel=o.OUTPUT,
        ),
    ] = "json",
    color: o.Color = "auto",
    pretty: o.Layout = None,
    use_get: Annotated[
        bool,
        typer.Option("--get", help="Connect GET (side-effect-free methods).", rich_help_panel=o.REQUEST),
    ] = False,
    compress: Annotated[
        str | None,
        typer.Option(
            "--compress", help="Compress requests: gzip.", metavar="gzip", rich_help_panel=o.REQUEST
        ),
    ] = None,
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
    protos: o.Protos = None,
    import_paths: o.ImportPaths = None,
    protosets: o.Protosets = None,
    reflect: o.Reflect = None,
    export_protoset: o.ExportProtoset = None,
    headers: o.Headers = None,
    reflect_headers: o.ReflectHeaders = None,
    rpc_headers: o.RpcHeaders = None,
    no_cache: o.NoCache = False,
    timeout: o.Timeout = None,
    verbose: o.Verbose = False,
) -> None:
    """Call a method: unary, server-, client- or bidi-streaming."""
    params = dict(locals())
    del params["ctx"]
    call(environment(ctx), **params)
