"""The status bar region: mode, addresses, rates, errors and capture file."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from rpcctl.runner.logmodel import LogModel
from rpcctl.tui.actions import StatusInfo


def status_text(mode: str, status: StatusInfo, model: LogModel, *, following: bool) -> Text:
    """The one line the status bar shows."""
    calls_rate, rows_rate = model.stats.rates()
    text = Text()
    text.append(f" {mode} ", "reverse bold")
    where = []
    if status.listen:
        where.append(f"listen {status.listen}")
    if status.upstream:
        where.append(f"→ {status.upstream}")
    if status.source:
        where.append(f"from {status.source}")
    if where:
        text.append(" " + " ".join(where))
    text.append(f" │ {calls_rate:,.0f} calls/s │ {rows_rate:,.0f} rows/s")
    errors = model.stats.errors
    text.append(f" │ {errors} errors", "bold red" if errors else "")
    if model.ack_mismatches:
        text.append(f" │ {model.ack_mismatches} ack mismatches", "bold red")
    if status.capture_file:
        text.append(f" │ capture {status.capture_file}")
    text.append(" │ follow" if following else " │ paused", "" if following else "bold yellow")
    return text


class StatusBar(Static):
    """One line at the bottom of the main screen."""

    def show(self, text: Text) -> None:
        """Replace the line (skipped when unchanged)."""
        if str(text) != str(getattr(self, "_last", "")):
            self._last = text
            self.update(text)
