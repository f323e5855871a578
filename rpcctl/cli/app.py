"""The `rpcctl` command: the typer app and its entry point.

Heavy libraries (grpc, httpx, textual, protobuf) load inside the commands, so that
`rpcctl --help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from rpcctl import __version__
from rpcctl.cli.bench import bench_command
from rpcctl.cli.call import call_command
from rpcctl.cli.demo import demo_command
from rpcctl.cli.describe import describe_command
from rpcctl.cli.env import Environment
from rpcctl.cli.listing import list_command
from rpcctl.cli.replay import replay_command
from rpcctl.cli.serve import serve_command
from rpcctl.cli.tail_logs import tail_logs_command

app = typer.Typer(
    name="rpcctl",
    help="Debug, tail and load-test Protocol Buffers RPC APIs over gRPC, gRPC-Web and Connect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("call", no_args_is_help=True)(call_command)
app.command("list")(list_command)
app.command("describe", no_args_is_help=True)(describe_command)
app.command("tail-logs")(tail_logs_command)
app.command("serve")(serve_command)
app.command("replay", no_args_is_help=True)(replay_command)
app.command("demo")(demo_command)
app.command("bench", no_args_is_help=True)(bench_command)


def _version(value: bool) -> None:
    if value:
        print(f"rpcctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Debug, tail and load-test Protocol Buffers RPC APIs over gRPC, gRPC-Web and Connect."""


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> None:
    """Run rpcctl with `argv` (default: the process's arguments) and exit."""
    args = list(sys.argv[1:] if argv is None else argv)
    app(args=args, prog_name="rpcctl", obj=env or Environment())
