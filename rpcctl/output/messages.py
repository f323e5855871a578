"""Response messages: pretty coloured JSON on a terminal, one compact JSON per line when piped."""

from __future__ import annotations

import json
import re
from typing import IO, Any

# Valid JSON escapes for what a terminal would act on: C1 controls and bidi overrides
# (json.dumps already escapes C0 controls such as ESC).
_UNSAFE = re.compile("[\u0080-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def compact_json(value: Any) -> str:
    """One line of JSON, as `jq` wants it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def terminal_safe_json(text: str) -> str:
    """JSON text with characters that steer a terminal escaped as \\uXXXX."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class MessagePrinter:
    """Prints each message as it arrives, in the format the environment calls for."""

    def __init__(self, stream: IO[str], *, pretty: bool, color: bool, fmt: str = "json") -> None:
        self.stream = stream
        self.pretty = pretty
        self.color = color
        self.fmt = fmt
        self.count = 0

    def print_json(self, value: Any) -> None:
        """Print one JSON value."""
        if self.pretty:
            text = terminal_safe_json(json.dumps(value, indent=2, ensure_ascii=False))
            if self.color:
                from rich.console import Console
                from rich.json import JSON

                console = Console(file=self.stream, force_terminal=True, soft_wrap=True)
                console.print(JSON(text, indent=2))
            else:
                self.stream.write(text + "\n")
        else:
            self.stream.write(compact_json(value) + "\n")
        self.count += 1
        self.stream.flush()

    def print_text(self, text: str) -> None:
        """Print one message in protobuf text format; messages are separated by a blank line."""
        if self.count:
            self.stream.write("\n")
        if self.pretty:
            text = terminal_safe_json(text)
        self.stream.write(text if text.endswith("\n") or not text else text + "\n")
        self.count += 1
        self.stream.flush()
