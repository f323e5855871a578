"""What `-v` shows on stderr: request and response metadata, trailers and timings."""

from __future__ import annotations

from typing import IO

from rpcctl.client import Timings
from rpcctl.wire.metadata import Metadata, sanitize_for_terminal


class VerbosePrinter:
    """Writes call details to stderr when verbose, else nothing."""

    def __init__(self, stream: IO[str], enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled

    def line(self, text: str) -> None:
        """One line of commentary."""
        if self.enabled:
            self.stream.write(sanitize_for_terminal(text) + "\n")
            self.stream.flush()

    def metadata(self, prefix: str, title: str, metadata: Metadata) -> None:
        """A block of metadata, one `name: value` line each."""
        if not self.enabled:
            return
        self.line(f"{prefix} {title}:" if len(metadata) else f"{prefix} {title}: (none)")
        for name, value in metadata.to_wire_pairs():
            self.line(f"{prefix}   {name}: {value}")

    def timings(self, timings: Timings) -> None:
        """How long the call took to its milestones."""
        if not self.enabled:
            return
        parts = []
        for label, moment in (
            ("headers", timings.headers),
            ("first message", timings.first_message),
            ("total", timings.ended),
        ):
            elapsed = timings.elapsed(moment)
            if elapsed is not None:
                parts.append(f"{label} {elapsed * 1000:.1f} ms")
        if parts:
            self.line("* time: " + ", ".join(parts))
