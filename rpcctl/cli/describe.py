"""`rpcctl describe [TARGET] SYMBOL [--template]`: a symbol as proto source, or a request skeleton."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from rpcctl.cli import options as o
from rpcctl.cli.command import environment, run
from rpcctl.cli.completion import complete_symbol

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
    env = environment(ctx)

    async def main() -> int:
        from google.protobuf.descriptor import Descriptor, FileDescriptor, MethodDescriptor

        from rpcctl.cli import session
        from rpcctl.errors import UsageError
        from rpcctl.output.messages import MessagePrinter
        from rpcctl.output.style import color_wanted
        from rpcctl.schema.describe import describe, describe_file
        from rpcctl.schema.template import request_template

        color_wanted(color, env.stdout_isatty, os.environ)  # a bad --color fails before connecting
        target_text, name = session.split_target(target, symbol)
        if name is None:
            raise UsageError("describe needs a SYMBOL (try `rpcctl list` to see what there is)")

        def find(schema: Any) -> Any:
            if not template and name.endswith(".proto") and any(f.name == name for f in schema.files):
                return schema.pool.FindFileByName(name)
            return schema.find_symbol(name)

        # A symbol the schema lacks is asked for by name (a cached schema is refreshed first).
        _, found = await session.load_and_find(env, target_text, ctx.params, name, find)
        if isinstance(found, FileDescriptor):
            env.stdout.write(describe_file(found))
            return 0
        if not template:
            env.stdout.write(describe(found).rstrip("\n") + "\n")
            return 0
        if isinstance(found, MethodDescriptor):
            found = found.input_type
        if not isinstance(found, Descriptor):
            raise UsageError(f"--template needs a message or a method, and {name} is neither")
        # A skeleton to edit: indented even when piped.
        colored = color_wanted(color, env.stdout_isatty, os.environ)
        printer = MessagePrinter(env.stdout, pretty=True, color=colored)
        printer.print_json(request_template(found))
        return 0

    run(env, main, verbose=verbose)
