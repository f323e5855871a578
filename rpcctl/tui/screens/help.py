"""The help screen: every key binding, with its id and description."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

PANE_KEYS = [
    ("Tab", "Next pane (tree, log, calls)", ""),
    ("↑ ↓ PgUp PgDn", "Move in the focused pane", ""),
    ("Enter", "Tree: open or close; calls: inspect the call", ""),
]
"""Keys of the panes themselves (Textual's), listed so that a newcomer finds them."""


class HelpScreen(ModalScreen[None]):
    """Lists the app's bindings; Escape, q or ? closes it."""

    BINDINGS = [  # noqa: RUF012 (Textual's declaration style)
        Binding("escape,q,question_mark", "dismiss_help", "Close help", id="help.close"),
    ]

    def __init__(self, bindings: Iterable[Binding]) -> None:
        super().__init__(id="help-screen")
        self.app_bindings = list(bindings)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static("rpcctl tail-logs — keys", id="help-title")
            table: DataTable[str] = DataTable(id="help-table", cursor_type="none", show_cursor=False)
            table.add_columns("key", "action", "id")
            for binding in self.app_bindings:
                table.add_row(binding.key_display or binding.key, binding.description, binding.id or "")
            for row in PANE_KEYS:
                table.add_row(*row)
            yield table
            yield Static("Esc, q or ? closes this screen; ↑ ↓ scroll it.", id="help-hint")

    def on_mount(self) -> None:
        self.query_one("#help-table").focus()

    def action_dismiss_help(self) -> None:
        """Close the screen."""
        self.dismiss(None)
