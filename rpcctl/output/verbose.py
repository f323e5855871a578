"""What `-v` shows on stderr: request and response metadata, trailers and timings.

Credential headers (authorization, cookies, tokens, keys: rpcctl.proxy.redact's rule) show
as [REDACTED]: -v output ends up in CI logs and bug reports."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

from rpcctl.call import Timings
from rpcctl.wire.metadata import Metadata, encode_binary_value, sanitize_for_terminal

if TYPE_CHECKING:
    from rpcctl.protocols.exchange import RequestHead


def _shown(name: str, value: str) -> str:
    """A header's value as -v prints it: a credential's (rpcctl.proxy.redact's rule) redacted."""
    from rpcctl.proxy.redact import REDACTED, is_credential_header

    # A peer's newline would start a line that looks like one of ours: shown as \n.
    return REDACTED if is_credential_header(name) else value.replace("\n", "\\n")


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
        # As received, unchecked: a header the call ignores must not fail it under -v.
        for name, value in metadata.items():
            text = encode_binary_value(value) if isinstance(value, bytes) else value
            self.line(f"{prefix}   {name}: {_shown(name, text)}")

    def request(self, head: RequestHead | None, version: str | None, origin: str = "") -> None:
        """The request as it went out: method, URL (``origin`` is ``scheme://authority``), HTTP
        version and every header, as `curl -v` shows them."""
        if not self.enabled or head is None:
            return
        self.line(f"> {head.method} {origin}{head.path} {version or 'HTTP'}")
        for name, value in head.headers:
            self.line(f">   {name}: {_shown(name, value)}")

    def timings(self, timings: Timings, exchange: Any = None) -> None:
        """When the call reached each milestone, in ms from its start, as `curl -w` reports them.

        The start is the earlier of the call's start and its connection's (a call that opened
        its connection waited for it). From the exchange's wire timings: connected and TLS done
        (when this call opened the connection), request sent, first response byte; then
        headers, first message and the end of the call.
        """
        if not self.enabled:
            return
        wire = getattr(exchange, "timings", None)
        start = timings.started
        marks: list[tuple[str, float | None]] = []
        if wire is not None:
            if wire.connect_start is not None:
                start = min(start, wire.connect_start)
            marks += [
                ("connected", wire.connected),
                ("TLS done", wire.tls_done),
                ("request sent", wire.request_sent),
                ("first byte", wire.first_byte),
            ]
        marks += [
            ("headers", timings.headers),
            ("first message", timings.first_message),
            ("end", timings.ended if timings.ended is not None else getattr(wire, "ended", None)),
        ]
        parts = [f"{label} {(moment - start) * 1000:.1f} ms" for label, moment in marks if moment is not None]
        if parts:
            self.line("* time: " + ", ".join(parts))
