"""The search region: a one-line input shown by the / key."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class SearchBar(Input):
    """Enter searches the log view; Escape closes the bar."""

    BINDINGS = [  # noqa: RUF012 (Textual's declaration style)
        Binding("escape", "close", "Close search", id="search.close"),
    ]

    class Closed(Message):
        """The bar was closed without searching."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="search the log view (Enter: find, Esc: close)", id=id)

    def action_close(self) -> None:
        """Hide the bar."""
        self.post_message(self.Closed())
