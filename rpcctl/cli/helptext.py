"""How every command's help and usage errors read.

- Options are grouped under headings, each option's group being its `rich_help_panel`: a
  command's own groups first, then the common ones in `PANEL_ORDER` (the way grpcurl's and
  ghz's docs group them); options with none come last.
- Metavars are words (`FILE`, `N`, `TEXT`), never a type such as ``<list[Path]>``; a metavar
  that lists the values (``json|text``) is also what shell completion offers.
- The command module's ``EXAMPLES`` (pairs of what it does and the command line) close the help.
- A usage error (a missing argument, an unknown option, a bad value) prints one ``error:``
  line naming what is wrong, then the usage line, and exits 2 — not the whole help page.
"""

from __future__ import annotations

import math
import re
import sys
from typing import IO, Any

from typer._click.exceptions import BadParameter, MissingParameter, NoSuchOption, UsageError
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

PANEL_ORDER = ("Target and connection", "Schema", "Request", "Output", "Load", "Report")
GENERAL = "Other options"

_METAVAR_BY_TYPE = {
    "path": "FILE",
    "int": "N",
    "int range": "N",
    "integer": "N",
    "float": "NUMBER",
    "float range": "NUMBER",
    "boolean": "BOOL",
}


class HelpfulCommand(TyperCommand):
    """A typer command with grouped options, word metavars, examples and one-line usage errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["no_args_is_help"] = False  # a missing argument is one line, not the help page
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.metavar is not None:
                continue
            if isinstance(param, TyperArgument):
                param.metavar = (param.name or "").upper()
            elif isinstance(param, TyperOption) and not param.is_flag:
                param.metavar = _METAVAR_BY_TYPE.get(param.type.name, "TEXT")
        for param in self.params:
            choices = _CHOICES.fullmatch(str(param.metavar or ""))
            if isinstance(param, TyperOption) and choices and param._custom_shell_complete is None:
                param._custom_shell_complete = _completing(choices[0].split("|"))

    # -- help -------------------------------------------------------------------------

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """`[OPTIONS] TARGET METHOD`: arguments by their metavar, optional ones in brackets."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = str(param.metavar)
                pieces.append(name if param.required or name.startswith("[") else f"[{name}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        """Arguments, then one section per option group, in `PANEL_ORDER`."""
        arguments: list[tuple[str, str]] = []
        groups: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            record = (record[0], _range_words(record[1]))
            if isinstance(param, TyperArgument):
                arguments.append(record)
            else:
                groups.setdefault(getattr(param, "rich_help_panel", None) or GENERAL, []).append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        # A command's own groups (tail-logs' modes, serve's limits) first, then the common ones.
        order = [p for p in groups if p not in PANEL_ORDER and p != GENERAL]
        order += [p for p in PANEL_ORDER if p in groups]
        for panel in [*order, GENERAL] if GENERAL in groups else order:
            with formatter.section(panel):
                formatter.write_dl(groups[panel])

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        """The module's ``EXAMPLES``, each a comment line and a command line, unwrapped."""
        super().format_epilog(ctx, formatter)
        write_examples(self, formatter)

    # -- usage errors -----------------------------------------------------------------

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """As click's, with its usage errors turned into `OneLineUsageError`."""
        try:
            rest = list(super().parse_args(ctx, args))
        except OneLineUsageError:
            raise
        except UsageError as exc:
            raise OneLineUsageError(usage_message(exc), ctx) from None
        for param in self.params:
            value = ctx.params.get(param.name or "")
            # click's ranges let nan through (every comparison with it is false).
            if isinstance(value, float) and not math.isfinite(value) and isinstance(param, TyperOption):
                raise OneLineUsageError(f"{_long_name(param)}: {value} is not a finite number", ctx)
        return rest


_CHOICES = re.compile(r"[a-z0-9-]+(?:\|[a-z0-9-]+)+")  # a metavar that lists the values: json|text


def _completing(choices: list[str]) -> Any:
    """A click `shell_complete` offering `choices` that start with what is typed."""
    return lambda _ctx, _param, incomplete: [c for c in choices if c.startswith(incomplete)]


class HelpfulGroup(TyperGroup):
    """A typer group whose unknown command is one ``error:`` line (with its near misses), the
    usage line and exit 2, and whose help ends with its module's ``EXAMPLES``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """As click's; with no arguments (and no help page asked for), one line naming the commands."""
        if not (args or self.no_args_is_help or self.invoke_without_command or ctx.resilient_parsing):
            names = self.list_commands(ctx)
            raise OneLineUsageError(f"missing COMMAND: {', '.join(names[:-1])} or {names[-1]}", ctx)
        return list(super().parse_args(ctx, args))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As click's, but a name that is no command is a `OneLineUsageError`."""
        names = self.list_commands(ctx)
        if args and args[0] not in names and not args[0].startswith("-") and not ctx.resilient_parsing:
            from difflib import get_close_matches

            near = get_close_matches(args[0], names)
            hint = f" (did you mean {' or '.join(near)}?)" if near else ""
            raise OneLineUsageError(f"no such command {args[0]!r}{hint}", ctx)
        return super().resolve_command(ctx, args)

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        """The ``EXAMPLES`` of the group's callback module, as a command's help ends."""
        super().format_epilog(ctx, formatter)
        write_examples(self, formatter)


def write_examples(command: Any, formatter: Any) -> None:
    """The Examples section: each of `examples_of(command)` a comment line and a command line."""
    examples = examples_of(command)
    if not examples:
        return
    with formatter.section("Examples"):
        indent = " " * formatter.current_indent
        for number, (what, line) in enumerate(examples):
            if number:
                formatter.write("\n")
            formatter.write(f"{indent}# {what}\n")
            width = max(formatter.width - len(indent), 40)
            formatter.write("".join(f"{indent}{part}\n" for part in fold_command(line, width)))


def fold_command(line: str, width: int) -> list[str]:
    """`line` in pieces of at most `width` characters where it can be, broken before an
    option (outside quotes) and continued with `` \\``, the next pieces indented: as pasted
    into a POSIX shell, the same command."""
    if len(line) <= width:
        return [line]
    starts, quote = [0], ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == " " and line.startswith("-", index + 1):
            starts.append(index + 1)
    pieces = [line[a:b].rstrip() for a, b in zip(starts, [*starts[1:], len(line)], strict=True)]
    lines = [pieces[0]]
    for piece in pieces[1:]:
        room = width - 2 - (0 if len(lines) == 1 else 2)  # the " \\" and the continuation's indent
        if len(lines[-1]) + 1 + len(piece) <= room:
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    last = len(lines) - 1
    return [("  " if n else "") + text + (" \\" if n < last else "") for n, text in enumerate(lines)]


def examples_of(command: Any) -> tuple[tuple[str, str], ...]:
    """The ``EXAMPLES`` of the module that defines the command's function (none if it has none)."""
    callback = getattr(command, "callback", None)
    module = sys.modules.get(getattr(callback, "__module__", "") or "")
    return tuple(getattr(module, "EXAMPLES", ()))


class OneLineUsageError(UsageError):
    """A usage error shown as ``error: …`` and the usage line, on the command's stderr."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Write the two lines (to the command's `Environment` stderr when it has one)."""
        stream = file
        if stream is None and self.ctx is not None:
            stream = getattr(self.ctx.find_root().obj, "stderr", None)
        stream = stream or sys.stderr
        stream.write(f"error: {self.message}\n")
        if self.ctx is not None:
            stream.write(self.ctx.get_usage() + "\n")
        stream.flush()


def usage_message(exc: Any) -> str:
    """What a click usage error means, in words: the missing argument or option named, with
    what it is for; an unknown option with its near misses; a bad value with the option."""
    param = getattr(exc, "param", None)
    if isinstance(exc, MissingParameter) and param is not None:
        name = param.metavar if isinstance(param, TyperArgument) else _long_name(param)
        help_text = (getattr(param, "help", None) or "").rstrip(".")
        return f"missing {name}" + (f": {help_text}" if help_text else "")
    if isinstance(exc, NoSuchOption):
        from difflib import get_close_matches

        # click offers up to three loose matches (--bogus: --verbose); one close one helps more.
        near = get_close_matches(exc.option_name, list(exc.possibilities or ()), n=1, cutoff=0.75)
        hint = f" (did you mean {near[0]}?)" if near else ""
        return f"no such option: {exc.option_name}{hint}"
    if isinstance(exc, BadParameter) and param is not None:
        name = _long_name(param) if isinstance(param, TyperOption) else str(param.metavar)
        return f"{name}: {_number_words(param, _sentence(exc.message))}"
    return _sentence(exc.format_message())


# Patterns compiled on first use (re caches them): only help pages and bad numbers need them.
_NOT_A_NUMBER = r"(?P<value>.+) is not a valid (?P<kind>int|integer|float)(?: range)?"
_OUT_OF_RANGE = r"(?P<value>.+) is not in the range .*"
_NUM = r"-?[\d._]+(?:e-?\d+)?"
_RANGE = (
    rf"(?<=[; \[])(?:(?P<low>{_NUM})<=?x<=?(?P<high>{_NUM})|x>=?(?P<least>{_NUM})|x<=?(?P<most>{_NUM}))(?=\])"
)


def _range_words(help_text: str) -> str:
    """Click's ``[default: 3; 1<=x<=50]`` as ``[default: 3; 1 to 50]``, ``x>=1`` as ``at least 1``."""

    def words(match: re.Match[str]) -> str:
        if match["least"] is not None:
            return f"at least {match['least']}"
        if match["most"] is not None:
            return f"at most {match['most']}"
        return f"{match['low']} to {match['high']}"

    return re.sub(_RANGE, words, help_text)


def _number_words(param: Any, message: str) -> str:
    """Click's number messages (``'x' is not a valid int range``, ``0 is not in the range
    1<=x<=50``) said as a person would, with the valid range."""
    if match := re.fullmatch(_NOT_A_NUMBER, message):
        kind = "a number" if match["kind"] == "float" else "a whole number"
        return f"{match['value']} is not {kind}"
    if match := re.fullmatch(_OUT_OF_RANGE, message):
        low, high = getattr(param.type, "min", None), getattr(param.type, "max", None)
        if low is not None and high is not None:
            return f"must be from {low} to {high}, not {match['value']}"
        if low is not None:
            return f"must be at least {low}, not {match['value']}"
        if high is not None:
            return f"must be at most {high}, not {match['value']}"
    return message


def _long_name(param: Any) -> str:
    """``--target`` rather than ``-t``."""
    return str(max(param.opts, key=len))


def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text[:1].lower() + text[1:]
