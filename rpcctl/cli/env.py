"""The environment a command runs in: its streams and whether they are terminals.

Every read of stdin and write to stdout/stderr goes through one `Environment`, so
tests run commands in-process with their own streams.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import IO, Any


@dataclass
class Environment:
    """Standard streams and terminal facts."""

    stdin: IO[bytes] = field(default_factory=lambda: sys.stdin.buffer)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool = field(default_factory=lambda: _isatty(sys.stdin))
    stdout_isatty: bool = field(default_factory=lambda: _isatty(sys.stdout))
    stderr_isatty: bool = field(default_factory=lambda: _isatty(sys.stderr))

    @property
    def color(self) -> bool:
        """Colour on stdout: only on a terminal, and never with NO_COLOR set."""
        return self.stdout_isatty and "NO_COLOR" not in os.environ

    def console(self, *, stderr: bool = False) -> Any:
        """A rich Console on stdout or stderr (imported lazily: rich is not free)."""
        from rich.console import Console

        stream = self.stderr if stderr else self.stdout
        tty = self.stderr_isatty if stderr else self.stdout_isatty
        return Console(
            file=stream,
            force_terminal=tty,
            no_color="NO_COLOR" in os.environ or not tty,
            highlight=False,
            soft_wrap=True,
        )


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
