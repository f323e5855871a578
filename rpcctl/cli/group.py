"""The typer side of `rpcctl`: the root group that builds a subcommand only when it is used.

`rpcctl.cli.app` holds the command names and the entry point and imports this module only
when typer has work to do (not for a bare `rpcctl --help` or `--version`).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

from rpcctl import __version__
from rpcctl.cli.app import COMMANDS, ROOT_HELP, LazyCommand
from rpcctl.cli.helptext import HelpfulCommand, HelpfulGroup


def build_command(name: str, entry: LazyCommand) -> Any:
    """The click command for `entry`: its module imported, its signature read by typer."""
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    if isinstance(target, typer.Typer):
        return typer.main.get_command(target)
    one = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)
    one.command(name, cls=HelpfulCommand, no_args_is_help=entry.no_args_is_help)(target)
    return typer.main.get_command(one)


class LazyGroup(HelpfulGroup):
    """A typer group that imports and builds a subcommand only when it is used.

    Help and completion of command names read `COMMANDS`; commands registered on the app
    the ordinary way (tests do) are kept as they are."""

    def list_commands(self, ctx: Any) -> list[str]:
        """Names in `COMMANDS` order, then any registered the ordinary way."""
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command called `cmd_name`, built on first use; None if there is none."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = build_command(cmd_name, COMMANDS[cmd_name])
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The Commands section from the summaries, without importing any command."""
        rows = [(name, self._summary(ctx, name)) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """Command names with their summaries, then the group's own options."""
        from typer.core import CompletionItem

        names = [
            CompletionItem(name, help=self._summary(ctx, name))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete) and not incomplete.startswith("-")
        ]
        return names + super(TyperGroup, self).shell_complete(ctx, incomplete)

    def _summary(self, ctx: Any, name: str) -> str:
        if name in COMMANDS and name not in self.commands:
            return COMMANDS[name].summary
        command = self.get_command(ctx, name)
        return "" if command is None else str(command.get_short_help_str(80))


app = typer.Typer(
    name="rpcctl",
    cls=LazyGroup,
    help=ROOT_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
