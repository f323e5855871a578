"""Options shared by the commands, as `Annotated` aliases, and what they build."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# What the options build lives in a typer-free module (a one-off call runs without typer).
from rpcctl.cli.connection import (
    CONNECTION_PARAMS as CONNECTION_PARAMS,
)
from rpcctl.cli.connection import (
    DEFAULT_MAX_MSG_SIZE as DEFAULT_MAX_MSG_SIZE,
)
from rpcctl.cli.connection import (
    channel_settings as channel_settings,
)
from rpcctl.cli.connection import (
    connection_params as connection_params,
)

CONN = "Target and connection"
SCHEMA = "Schema"
REQUEST = "Request"
OUTPUT = "Output"
LOAD = "Load"
CALL = REQUEST

PROTOCOLS = ("connect", "grpc", "grpc-web")


def complete_protocols(incomplete: str) -> list[str]:
    """Shell completion of --protocol: a protocol name, or the next one of bench's list."""
    head, comma, last = incomplete.rpartition(",")
    return [f"{head}{comma}{name}" for name in PROTOCOLS if name.startswith(last)]


Target = Annotated[
    str,
    typer.Argument(
        help="http://host:port[/prefix], https://…, unix:///path.sock, or host:port.",
        metavar="TARGET",
        show_default=False,
    ),
]
OptionalTarget = Annotated[
    str | None,
    typer.Argument(
        help="Server to ask (reflection); omit to use local schemas only.",
        metavar="TARGET",
        show_default=False,
    ),
]
Protocol = Annotated[
    str,
    typer.Option(
        "--protocol",
        help="connect, grpc or grpc-web.",
        metavar="PROTOCOL",
        rich_help_panel=CONN,
        autocompletion=lambda incomplete: complete_protocols(incomplete),
    ),
]
Http2 = Annotated[
    bool,
    typer.Option("--http2", help="HTTP/2 (h2c with prior knowledge on http://).", rich_help_panel=CONN),
]
GrpcWebText = Annotated[
    bool,
    typer.Option(
        "--grpc-web-text",
        help="gRPC-Web in its text form: application/grpc-web-text, base64-encoded bodies.",
        rich_help_panel=CONN,
    ),
]
Http1 = Annotated[bool, typer.Option("--http1", help="HTTP/1.1 only.", rich_help_panel=CONN)]
Tls = Annotated[bool, typer.Option("--tls", help="Use TLS even on a bare host:port.", rich_help_panel=CONN)]
Insecure = Annotated[
    bool,
    typer.Option("--insecure", "-k", help="Skip TLS certificate verification.", rich_help_panel=CONN),
]
CaCert = Annotated[
    Path | None,
    typer.Option(
        "--cacert",
        help="CA bundle to verify the server with.",
        metavar="FILE",
        rich_help_panel=CONN,
    ),
]
Cert = Annotated[
    Path | None,
    typer.Option("--cert", help="Client certificate (PEM).", metavar="FILE", rich_help_panel=CONN),
]
Key = Annotated[
    Path | None, typer.Option("--key", help="Client private key (PEM).", metavar="FILE", rich_help_panel=CONN)
]
ServerName = Annotated[
    str | None,
    typer.Option("--servername", help="TLS server name to verify.", metavar="NAME", rich_help_panel=CONN),
]
Authority = Annotated[
    str | None,
    typer.Option(
        "--authority", help=":authority / Host header.", metavar="HOST[:PORT]", rich_help_panel=CONN
    ),
]
ConnectTimeout = Annotated[
    str | None,
    typer.Option(
        "--connect-timeout",
        help="Give up connecting (TCP, TLS and the HTTP/2 preface) after this long (e.g. 3s; default 10s).",
        metavar="DURATION",
        rich_help_panel=CONN,
    ),
]
KeepaliveTime = Annotated[
    str | None,
    typer.Option(
        "--keepalive-time",
        help=(
            "HTTP/2: after this long with nothing received while calls are open, send a PING; "
            "no answer within 20s (or within this time, if shorter) ends the connection, so a "
            "silent server is found even without --timeout (default 20s; 0 turns it off)."
        ),
        metavar="DURATION",
        rich_help_panel=CONN,
    ),
]
MaxMsgSize = Annotated[
    str | None,
    typer.Option(
        "--max-msg-size",
        help=(
            "Largest response message accepted: bytes, or with a unit (512KiB, 16MiB), from 1 "
            "to 4294967295 (default 4MiB). It bounds only what is received: requests of any "
            "size go out, within what the server accepts."
        ),
        metavar="BYTES",
        show_default=False,
        rich_help_panel=CONN,
    ),
]
Codec = Annotated[
    str | None,
    typer.Option(
        "--codec",
        help=(
            "How messages are encoded. Default, in every command: the protocol's own, json for "
            "connect and proto for grpc and grpc-web (json there only when asked: the server "
            "must support it)."
        ),
        show_default=False,
        metavar="json|proto",
        rich_help_panel=CONN,
    ),
]
Protos = Annotated[
    list[Path] | None,
    typer.Option("--proto", help="A .proto file (repeatable).", metavar="FILE", rich_help_panel=SCHEMA),
]
ImportPaths = Annotated[
    list[Path] | None,
    typer.Option(
        "--import-path",
        "-I",
        help="Where imports are found (repeatable).",
        metavar="DIR",
        rich_help_panel=SCHEMA,
    ),
]
Protosets = Annotated[
    list[Path] | None,
    typer.Option(
        "--protoset",
        help="A compiled FileDescriptorSet (repeatable).",
        metavar="FILE",
        rich_help_panel=SCHEMA,
    ),
]
Reflect = Annotated[
    bool | None,
    typer.Option(
        "--reflect/--no-reflect",
        help="Ask the server for its schema (default: yes unless --proto/--protoset).",
        show_default=False,
        rich_help_panel=SCHEMA,
    ),
]
ExportProtoset = Annotated[
    Path | None,
    typer.Option(
        "--export-protoset",
        help="Write the loaded schema to this file.",
        metavar="FILE",
        rich_help_panel=SCHEMA,
    ),
]
Headers = Annotated[
    list[str] | None,
    typer.Option(
        "--header",
        "-H",
        help="A request header, 'name: value' (repeatable; -bin values are base64).",
        metavar="NAME:VALUE",
        rich_help_panel=CALL,
    ),
]
ReflectHeaders = Annotated[
    list[str] | None,
    typer.Option(
        "--reflect-header",
        help="'name: value' sent with reflection requests only (repeatable; -H goes with both).",
        metavar="NAME:VALUE",
        rich_help_panel=SCHEMA,
    ),
]
RpcHeaders = Annotated[
    list[str] | None,
    typer.Option(
        "--rpc-header",
        help="'name: value' sent with the call only, not with reflection (repeatable).",
        metavar="NAME:VALUE",
        rich_help_panel=CALL,
    ),
]
NoCache = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help=(
            "Ask the server for its schema even if a reflected one is cached (reflected schemas "
            "are reused for 10 minutes or $RPCCTL_CACHE_TTL per target and reflection headers; "
            "`rpcctl cache clear` empties the cache)."
        ),
        rich_help_panel=SCHEMA,
    ),
]
Timeout = Annotated[
    str | None,
    typer.Option(
        "--timeout",
        help=(
            "Bound everything the command does, connecting and reflection included (e.g. 5s, "
            "250ms); a call sends it as its deadline. Without it, each reflection request "
            "gives up after 10s and HTTP/2 keepalive (--keepalive-time) finds a silent server."
        ),
        metavar="DURATION",
        rich_help_panel=CALL,
    ),
]
CallTimeout = Annotated[
    str,
    typer.Option(
        "--timeout",
        metavar="DURATION",
        help="Deadline of each call, sent with it (e.g. 5s, 250ms); 20s unless given, as in ghz.",
        show_default=False,
        rich_help_panel=REQUEST,
    ),
]
Color = Annotated[
    str,
    typer.Option(
        "--color",
        help=(
            "Colour the output: auto (on a terminal, unless NO_COLOR is set; FORCE_COLOR turns "
            "it on anywhere), always or never."
        ),
        metavar="auto|always|never",
        rich_help_panel=OUTPUT,
    ),
]
Layout = Annotated[
    bool | None,
    typer.Option(
        "--pretty/--compact",
        help=(
            "Layout: indented JSON (what a terminal gets) or one compact JSON message per line "
            "(what a pipe gets). Default: by whether stdout is a terminal."
        ),
        show_default=False,
        rich_help_panel=OUTPUT,
    ),
]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="The wire on stderr, as curl -v shows it: URL, request and response headers, trailers, timings.",
        rich_help_panel=OUTPUT,
    ),
]
