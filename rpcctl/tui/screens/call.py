"""The call inspector: one call from the calls table, everything the capture knows of it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from rpcctl.proxy.redact import Redactor
from rpcctl.runner.callstats import CallRecord
from rpcctl.tui.calldetails import call_details


class CallScreen(ModalScreen[None]):
    """Shows one call (method, protocol, peer, status, timings, headers, messages); Escape closes."""

    BINDINGS = [  # noqa: RUF012 (Textual's declaration style)
        Binding("escape,q,enter", "close", "Close", id="call.close"),
    ]

    def __init__(
        self,
        record: CallRecord,
        carried: str = "",
        redactor: Redactor | None = None,
        since: float | None = None,
    ) -> None:
        super().__init__(id="call-screen")
        self.since = since
        """The first call's start time: the origin of this one's."""
        self.record = record
        self.redactor = redactor
        """Replaces the credentials shown (None: everything is shown)."""
        self.carried = carried
        """What the call carried (`make #0 #5–#6`), shown in the title."""

    def compose(self) -> ComposeResult:
        with Vertical(id="call-dialog"):
            record = self.record
            facts = [
                f"call {record.method}",
                self.carried,
                record.status + (f" {record.note}" if record.note else ""),
            ]
            yield Static(" · ".join([*filter(None, facts), "Esc closes"]), id="call-title")
            with VerticalScroll(id="call-body"):
                yield Static(call_details(self.record, self.redactor, self.since), id="call-text")

    def on_mount(self) -> None:
        self.query_one("#call-body").focus()

    def action_close(self) -> None:
        """Close the inspector."""
        self.dismiss(None)
