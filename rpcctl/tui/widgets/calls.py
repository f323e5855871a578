"""The calls region: a table of the most recent RPC calls."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import DataTable

from rpcctl.runner.callstats import CallRecord, CallStats

MAX_ROWS = 100
"""Calls kept in the table; the oldest go first."""


def status_text(record: CallRecord) -> Text:
    """`OK`, or `OK ack 3 ≠ 8` / `UNAVAILABLE` highlighted when the call failed or disagreed."""
    text = Text(record.status, "bold red" if record.code else "")
    if record.note:
        text.append(f" {record.note}", "bold yellow")
    return text


def latency_text(record: CallRecord) -> str:
    """Latency in ms with one decimal (`2.0 ms`), in s from 10 s on (`615.2 s`), `…` while it runs."""
    if record.latency is None:
        return "…"
    if record.latency >= 10:
        return f"{record.latency:.1f} s"
    return f"{record.latency * 1000:.1f} ms"


class CallsTable(DataTable[str | Text]):
    """Method, status, what it carried, latency and protocol of each finished call, newest last.

    `describe(record)` gives the `carried` column (`make #0 #5–#6`); the narrow columns come
    first so that method, rows and status stay on screen at 80 columns.
    """

    def __init__(self, *, id: str | None = None, describe: Callable[[CallRecord], str] | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.describe = describe or (lambda _record: "")
        self._last_seq = 0
        self._keys: list[str] = []
        self.errors_only = False
        """Show only calls that failed or whose ack disagreed."""

    def on_mount(self) -> None:
        self.add_column("method", key="method")
        self.add_column("status", key="status")
        self.add_column("carried", key="carried")
        self.add_column("latency", key="latency")
        self.add_column("protocol", key="protocol")

    def on_resize(self) -> None:
        # The newest calls stay in view when the terminal shrinks.
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True)

    def show_errors_only(self, stats: CallStats, errors_only: bool) -> None:
        """Rebuild the table with every kept call, or only the failed ones."""
        self.errors_only = errors_only
        self.clear()
        self._keys.clear()
        self._last_seq = 0
        self.update_from(stats)

    def update_from(self, stats: CallStats) -> None:
        """Append the calls that finished since the last update."""
        fresh = [r for r in stats.recent if r.seq > self._last_seq]
        if fresh:
            self._last_seq = fresh[-1].seq
        if self.errors_only:
            fresh = [r for r in fresh if r.failed]
        fresh = fresh[-MAX_ROWS:]
        if not fresh:
            return
        for record in fresh:
            key = str(record.seq)
            method = Text(record.method, "bold" if record.failed else "")
            carried = self.describe(record)
            self.add_row(method, status_text(record), carried, latency_text(record), record.protocol, key=key)
            self._keys.append(key)
        excess = len(self._keys) - MAX_ROWS
        if excess > 0:
            for key in self._keys[:excess]:
                self.remove_row(key)
            del self._keys[:excess]
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
