"""Response messages: pretty coloured JSON on a terminal, one compact JSON per line when piped.

Which of the two, and whether in colour, is `rpcctl.output.style`'s decision.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any

# Valid JSON escapes for what a terminal would act on: C1 controls and bidi overrides
# (json.dumps already escapes C0 controls such as ESC).
# A string that `re` compiles (~0.25 ms) on first use: compact output, the piped default, never uses it.
_UNSAFE = "[\u0080-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]"


def compact_json(value: Any) -> str:
    """One line of JSON, as `jq` wants it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def terminal_safe_json(text: str) -> str:
    """JSON text with characters that steer a terminal escaped as \\uXXXX."""
    return re.sub(_UNSAFE, lambda m: f"\\u{ord(m.group()):04x}", text)


class MessagePrinter:
    """Prints each message as it arrives, in the format the environment calls for."""

    def __init__(self, stream: IO[str], *, pretty: bool, color: bool, fmt: str = "json") -> None:
        self.stream = stream
        self.pretty = pretty
        self.color = color
        self.fmt = fmt
        self.count = 0
        self._console: Any = None

    def print_json(self, value: Any) -> None:
        """Print one JSON value: indented when pretty, else on one line; coloured if asked."""
        if self.pretty:
            text = terminal_safe_json(json.dumps(value, indent=2, ensure_ascii=False))
        else:
            text = compact_json(value)
        if self.color:
            self._print_colored(text)
        else:
            self.stream.write(text + "\n")
        self.count += 1
        self.stream.flush()

    def _print_colored(self, text: str) -> None:
        from rich.console import Console
        from rich.highlighter import JSONHighlighter
        from rich.text import Text

        if self._console is None:
            # Asked for colour, so neither NO_COLOR (decided before) nor TERM=dumb turns it off.
            console = Console(file=self.stream, force_terminal=True, no_color=False, soft_wrap=True)
            if console.color_system is None:
                console = Console(
                    file=self.stream,
                    force_terminal=True,
                    no_color=False,
                    soft_wrap=True,
                    color_system="standard",
                )
            self._console = console
        highlighted = JSONHighlighter()(Text(text))
        highlighted.no_wrap = True
        self._console.print(highlighted)

    def print_text(self, text: str) -> None:
        """Print one message in protobuf text format; messages are separated by a blank line."""
        if self.count:
            self.stream.write("\n")
        if self.pretty:
            text = terminal_safe_json(text)
        self.stream.write(text if text.endswith("\n") or not text else text + "\n")
        self.count += 1
        self.stream.flush()
