"""Whether output is coloured and how it is laid out, as HTTPie decides it.

Colour (``--color auto|always|never``): ``always`` and ``never`` win; ``auto`` colours a
terminal unless ``NO_COLOR`` is set to a non-empty value (https://no-color.org), and
``FORCE_COLOR`` set to a non-empty value other than ``0`` colours even a pipe
(https://force-color.org). ``NO_COLOR`` wins over ``FORCE_COLOR``.

Layout (``--pretty``/``--compact``): indented JSON or one compact JSON value per line; by
default indented on a terminal and compact when piped, so that ``| jq`` always works.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rpcctl.errors import UsageError

COLOR_CHOICES = ("auto", "always", "never")


@dataclass(frozen=True)
class OutputStyle:
    """How a command prints: `pretty` (indented) or compact, coloured or not."""

    pretty: bool
    color: bool


def color_wanted(choice: str, isatty: bool, environ: Mapping[str, str]) -> bool:
    """Whether to colour a stream: `choice` is auto, always or never; `UsageError` otherwise."""
    if choice not in COLOR_CHOICES:
        raise UsageError(f"--color takes auto, always or never, not {choice!r}")
    if choice != "auto":
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    return isatty


def output_style(choice: str, pretty: bool | None, isatty: bool, environ: Mapping[str, str]) -> OutputStyle:
    """The style for stdout: `pretty` None means by `isatty`; colour as `color_wanted` says."""
    return OutputStyle(
        pretty=isatty if pretty is None else pretty,
        color=color_wanted(choice, isatty, environ),
    )
