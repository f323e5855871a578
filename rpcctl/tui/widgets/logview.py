"""The log view region: the selected node's lines, following new rows, with search highlights."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from rpcctl.runner.logtree import Badge, badge_of
from rpcctl.tui.lines import LogLine, find_matches, gap_lines, next_after
from rpcctl.tui.naming import fit_title

TAG_STYLES = {
    "refused": "logview--refused",
    "resent": "logview--resent",
    "resent≠": "logview--resent",
    "after no_more": "logview--late",
}
"""The component class of each row tag (a tag is a word, so colour is never the only cue)."""


class LogView(ScrollView, can_focus=True):
    """Renders only the visible lines (Line API), so 20,000 lines cost what a screenful does."""

    COMPONENT_CLASSES = {  # noqa: RUF012 (Textual's declaration style)
        "logview--prefix",
        "logview--index",
        "logview--gap",
        "logview--marker",
        "logview--state",
        "logview--failed",
        "logview--refused",
        "logview--resent",
        "logview--late",
        "logview--match",
        "logview--current-match",
    }

    follow: reactive[bool] = reactive(True)
    """Keep the last line in view as rows arrive; off once the user scrolls up."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.full_title = ""
        """The title before fitting (`set_title`)."""
        self.lines: list[LogLine] = []
        self.query_text = ""
        self.matches: list[int] = []
        self._match_set: set[int] = set()
        self.current_match: int | None = None
        self._index_width = 1

    # -- content ----------------------------------------------------------------------

    def set_lines(self, lines: list[LogLine]) -> None:
        """Show `lines` (the search is re-run; the view follows the end if `follow`)."""
        self.lines = lines
        last = max((line.index for line in lines[-200:] if line.index is not None), default=0)
        self._index_width = max(self._index_width, len(str(last)))
        self._set_matches(find_matches(lines, self.query_text))
        if self.current_match is not None and self.current_match >= len(lines):
            self.current_match = None
        self.virtual_size = Size(self.scrollable_content_region.width, len(lines))
        if self.follow:
            self._to_end()
            self.call_after_refresh(self._to_end)  # once the new virtual size is laid out
        self.refresh()

    def _to_end(self) -> None:
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def search(self, query: str) -> int:
        """Highlight `query` and go to its first match after the top of the view; the match count."""
        self.query_text = query
        self._set_matches(find_matches(self.lines, query))
        self.current_match = None
        if self.matches:
            self.goto_match(backwards=False, start=int(self.scroll_offset.y) - 1)
        self.refresh()
        return len(self.matches)

    def _set_matches(self, matches: list[int]) -> None:
        self.matches = matches
        self._match_set = set(matches)

    def goto_match(self, *, backwards: bool = False, start: int | None = None) -> int | None:
        """Move to the next (previous) match; its line number."""
        current = self.current_match if start is None else start
        if current is None:
            current = int(self.scroll_offset.y) - 1 if not backwards else int(self.scroll_offset.y)
        target = next_after(self.matches, current, backwards=backwards)
        if target is not None:
            self.current_match = target
            self.show_line(target)
        return target

    def where(self) -> str:
        """`match 2 of 5: 'cc -c'` or `gap 1 of 1: 2 rows missing: #3–#4` for the current
        position, '' when it is neither a match nor a gap."""
        current = self.current_match
        if current is None:
            return ""
        if current in self.matches:
            return f"match {self.matches.index(current) + 1} of {len(self.matches)}: {self.query_text!r}"
        gaps = gap_lines(self.lines)
        if current in gaps:
            return f"gap {gaps.index(current) + 1} of {len(gaps)}: {self.lines[current].text.strip('─ ')}"
        return ""

    def goto_first_gap(self) -> int | None:
        """Move to the first gap marker of the view; its line number."""
        gaps = gap_lines(self.lines)
        if not gaps:
            return None
        self.current_match = gaps[0]
        self.show_line(gaps[0])
        return gaps[0]

    def goto_gap(self) -> int | None:
        """Move to the next gap marker after the current position; its line number."""
        current = self.current_match if self.current_match is not None else int(self.scroll_offset.y)
        gaps = gap_lines(self.lines)
        later = [n for n in gaps if n > current]
        if not later:
            return None
        self.current_match = later[0]
        self.show_line(later[0])
        return later[0]

    def show_line(self, number: int) -> None:
        """Scroll `number` into the middle of the view and stop following."""
        self.follow = False
        self.scroll_to(
            y=max(0, number - self.scrollable_content_region.height // 2), animate=False, immediate=True
        )
        self.refresh()

    def watch_follow(self, follow: bool) -> None:
        self._to_end()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value < old_value and new_value < self.max_scroll_y:
            self.follow = False
        elif new_value >= self.max_scroll_y and self.max_scroll_y > 0 and self.current_match is None:
            self.follow = True

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.lines))
        self.call_after_refresh(self._to_end)
        self.set_title(self.full_title)

    def set_title(self, title: str) -> None:
        """Show `title` (a node's path) in the border, fitted to the width: its end stays."""
        self.full_title = title
        # Border corners, the title's spaces and a margin: 6 columns.
        width = self.size.width - 6
        self.border_title = fit_title(title, width) if width > 0 else title

    # -- rendering --------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        number = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if number >= len(self.lines):
            return Strip.blank(width, base)
        line = self.lines[number]
        segments: list[Segment] = []
        if line.prefix:
            segments.append(Segment(line.prefix, self.get_component_rich_style("logview--prefix")))
        if line.index is not None:
            label = f"#{line.index}".rjust(self._index_width + 1) + " "
            segments.append(Segment(label, self.get_component_rich_style("logview--index")))
            for tag in line.tags:
                segments.append(Segment(f"[{tag}]", self.get_component_rich_style(TAG_STYLES[tag])))
                segments.append(Segment(" ", base))
            segments.extend(self._text_segments(line.text, number, base))
        else:
            style = "logview--gap" if line.gap else "logview--marker"
            if line.state:
                style = "logview--failed" if badge_of(line.state) == Badge.FAILED else "logview--state"
            current = number == self.current_match
            marker_style = self.get_component_rich_style("logview--current-match" if current else style)
            segments.append(Segment(line.text, marker_style))
        return Strip(segments).crop(0, width).extend_cell_length(width, base).apply_style(base)

    def _text_segments(self, text: str, number: int, base: Style) -> list[Segment]:
        query = self.query_text
        if not query or number not in self._match_set:
            return [Segment(text, base)]
        highlight = self.get_component_rich_style(
            "logview--current-match" if number == self.current_match else "logview--match"
        )
        segments: list[Segment] = []
        lower, needle, position = text.lower(), query.lower(), 0
        while True:
            found = lower.find(needle, position)
            if found < 0:
                break
            segments.append(Segment(text[position:found], base))
            segments.append(Segment(text[found : found + len(needle)], highlight))
            position = found + len(needle)
        segments.append(Segment(text[position:], base))
        return segments
