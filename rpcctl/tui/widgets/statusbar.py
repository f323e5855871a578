"""The status bar region: mode, rates, errors, follow state, capture file and addresses.

It is also the TUI's message line: an action's feedback replaces the facts for a few
seconds there (wrapping onto up to three lines), so no toast ever covers the calls table.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from rpcctl.runner.logmodel import LogModel
from rpcctl.tui.actions import StatusInfo


def status_text(mode: str, status: StatusInfo, model: LogModel, *, following: bool) -> Text:
    """The one line the status bar shows."""
    calls_rate, rows_rate = model.stats.rates()
    text = Text()
    text.append(f" {mode} ", "reverse bold")
    text.append(f" │ {calls_rate:,.0f} calls/s │ {rows_rate:,.0f} rows/s")
    errors = model.stats.errors
    text.append(f" │ {errors} errors", "bold red" if errors else "")
    if model.ack_mismatches:
        text.append(f" │ {model.ack_mismatches} ack mismatches", "bold red")
    text.append(" │ follow" if following else " │ paused", "" if following else "bold yellow")
    if status.capture_file:
        text.append(f" │ capture {status.capture_file}")
    # Addresses last: at 80 columns a long URL is what gets cut, not the counts.
    if status.listen:
        text.append(f" │ listen {status.listen}")
    if status.upstream:
        text.append(f" → {status.upstream}")
    if status.source:
        text.append(f" │ from {status.source}")
    return text


SEVERITY_STYLES = {"information": "bold", "warning": "bold black on yellow", "error": "bold white on red"}
"""How a message of each severity is drawn."""


class StatusBar(Static):
    """One line at the bottom of the main screen; a message replaces it while it lasts."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._message: Text | None = None
        self._until = 0.0
        self._facts = Text()

    def flash(self, message: str, severity: str = "information", seconds: float = 5.0) -> None:
        """Show `message` instead of the facts for `seconds` (a newer message replaces it)."""
        self._message = Text(f" {message} ", SEVERITY_STYLES.get(severity, "bold"))
        self._until = time.monotonic() + seconds
        self._draw()

    def show(self, text: Text) -> None:
        """Set the facts line; drawn unless a message is showing (skipped when unchanged)."""
        self._facts = text
        self._draw()

    @property
    def message(self) -> str:
        """The message showing now, or ''."""
        if self._message is not None and time.monotonic() >= self._until:
            self._message = None
        return self._message.plain.strip() if self._message is not None else ""

    def _draw(self) -> None:
        showing = bool(self.message) and self._message is not None
        self.set_class(showing, "-message")
        text = self._message if showing and self._message is not None else self._facts
        if str(text) != str(getattr(self, "_last", "")) or text.style != getattr(self, "_last_style", None):
            self._last = text
            self._last_style = text.style
            self.update(text)
