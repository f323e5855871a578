"""The filter bar above the tree: which tasks it shows (failed, cancelled, with gaps)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

FILTERS = (("1", "failed"), ("2", "cancelled"), ("3", "gaps"))
"""(key, filter) in the order the bar shows them."""


def filter_text(active: frozenset[str]) -> Text:
    """`1 ✓failed 2 cancelled 3 gaps 0 all`: keys, and the active filters ticked and reversed."""
    text = Text()
    for key, name in FILTERS:
        on = name in active
        text.append(f"{key} ", "bold")
        text.append(f"✓{name}" if on else name, "bold reverse" if on else "dim")
        text.append(" ")
    text.append("0 ", "bold")
    text.append("all", "dim" if active else "bold reverse")
    return text


class FilterBar(Static):
    """One line: the tree's filters and the keys that toggle them."""

    def show(self, active: frozenset[str]) -> None:
        """Redraw for `active` filters."""
        self.update(filter_text(active))
