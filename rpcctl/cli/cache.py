"""`rpcctl cache clear|dir`: the on-disk caches of compiled and reflected schemas."""

from __future__ import annotations

import typer

from rpcctl.cli.command import environment
from rpcctl.cli.helptext import HelpfulGroup

EXAMPLES = (
    ("where the cached schemas are", "rpcctl cache dir"),
    ("forget every cached schema (the next command reflects or compiles again)", "rpcctl cache clear"),
)

cache_app = typer.Typer(
    name="cache",
    cls=HelpfulGroup,
    help=(
        "Clear or locate the cached schemas.\n\n"
        "Compiled .proto files are cached by content; reflected schemas per target and "
        "reflection headers, for 10 minutes or $RPCCTL_CACHE_TTL (a duration: 90s, 1h; 0 reuses "
        "nothing). Both live in $RPCCTL_CACHE_DIR or the user cache directory, readable by "
        "their owner only."
    ),
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@cache_app.callback()
def cache_group() -> None:
    """The group itself does nothing: its commands do (this holds the help's EXAMPLES)."""


@cache_app.command("clear")
def clear_command(ctx: typer.Context) -> None:
    """Remove every cached schema. The next command compiles or reflects again."""
    from rpcctl.schema.cache import cache_dir, clear

    env = environment(ctx)
    directory = cache_dir()
    removed = clear(directory)
    env.stderr.write(f"removed {removed} cached schema file{'s' if removed != 1 else ''} from {directory}\n")


@cache_app.command("dir")
def dir_command(ctx: typer.Context) -> None:
    """Print the cache directory."""
    from rpcctl.schema.cache import cache_dir

    environment(ctx).stdout.write(f"{cache_dir()}\n")
