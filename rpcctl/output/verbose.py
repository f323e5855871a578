"""What `-v` shows on stderr: request and response metadata, trailers and timings."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

from rpcctl.call import Timings
from rpcctl.wire.metadata import Metadata, sanitize_for_terminal

if TYPE_CHECKING:
    from rpcctl.protocols.exchange import RequestHead


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

    def request(self, head: RequestHead | None, version: str | None) -> None:
        """The request as it went out: method, path, HTTP version and every header."""
        if not self.enabled or head is None:
            return
        self.line(f"> {head.method} {head.path} {version or 'HTTP'}")
        for name, value in head.headers:
            self.line(f">   {name}: {value}")

    def timings(self, timings: Timings, exchange: Any = None) -> None:
        """When the call reached each milestone, in ms from its start (as `curl -w` reports).

        With the wire timings of the exchange: connect and TLS (when this call opened the
        connection), request sent, first response byte, end.
        """
        if not self.enabled:
            return
        wire = getattr(exchange, "timings", None)
        marks: list[tuple[str, float | None]] = []
        if wire is not None:
            if wire.connect_start is not None and wire.connected is not None:
                self.line(f"* connect {(wire.connected - wire.connect_start) * 1000:.1f} ms")
            if wire.connected is not None and wire.tls_done is not None:
                self.line(f"* TLS {(wire.tls_done - wire.connected) * 1000:.1f} ms")
            marks += [("request sent", wire.request_sent), ("first byte", wire.first_byte)]
        marks += [
            ("headers", timings.headers),
            ("first message", timings.first_message),
            ("total", timings.ended),
        ]
        parts = []
        for label, moment in marks:
            elapsed = timings.elapsed(moment)
            if elapsed is not None:
                parts.append(f"{label} {elapsed * 1000:.1f} ms")
        if parts:
            self.line("* time: " + ", ".join(parts))
