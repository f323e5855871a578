"""What `rpcctl describe` does once its options are read: a symbol as proto source, or a
request skeleton.

Typer-free: `rpcctl.cli.describe` declares the command for typer, and a plainly valid command
line reaches `describe_symbol` without typer (`rpcctl.cli.fastparse`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from rpcctl.cli.command import run

if TYPE_CHECKING:
    from rpcctl.cli.env import Environment


def describe_symbol(env: Environment, **params: Any) -> None:
    """Describe `params["symbol"]` with the options of `rpcctl describe` as its typer
    declaration in `rpcctl.cli.describe` gives them.

    Raises SystemExit with the exit status (`rpcctl.cli.command.run`)."""
    target, symbol, template, color, verbose = (
        params[n] for n in ("target", "symbol", "template", "color", "verbose")
    )

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
        _, found = await session.load_and_find(env, target_text, params, name, find)
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
