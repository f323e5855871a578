"""The tail-logs Textual app and the `create_app` factory that the CLI and the tests call.

The app is a thin view: a worker pumps events from the source into the log model in
chunks (`rpcctl.runner.tailing.pump`), and a timer redraws, every `refresh_interval`,
only what the model's change set names. Keys call the `TuiActions` the CLI supplied.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.widgets import Footer, Static, Tree

from rpcctl.proxy.redact import Redactor
from rpcctl.runner.logmodel import Changes, LogModel
from rpcctl.runner.logtree import Badge
from rpcctl.runner.streamkey import StreamKey
from rpcctl.runner.tailing import SourceLike, pump
from rpcctl.tui.actions import StatusInfo, TuiActions
from rpcctl.tui.callsummary import call_summary
from rpcctl.tui.lines import NodeKey, build_lines, node_streams, task_of
from rpcctl.tui.naming import node_title
from rpcctl.tui.nodeinfo import header_text
from rpcctl.tui.screens.call import CallScreen
from rpcctl.tui.screens.help import HelpScreen
from rpcctl.tui.taskkeys import TaskKeysApp
from rpcctl.tui.widgets.calls import CallsTable
from rpcctl.tui.widgets.filterbar import FilterBar
from rpcctl.tui.widgets.logview import LogView
from rpcctl.tui.widgets.searchbar import SearchBar
from rpcctl.tui.widgets.statusbar import StatusBar, status_text
from rpcctl.tui.widgets.tasktree import TaskTree

MAX_MESSAGES = 50
"""Feedback messages kept in `TailLogsApp.messages`."""

NARROW = 120
"""Below this many columns the tree is wider and its labels put state and counts first."""

BINDINGS: list[Binding] = [
    # Help and Quit first: the footer shows bindings in this order and is cut at 80 columns.
    Binding("question_mark", "help", "Help", key_display="?", id="tail.help"),
    Binding("q", "quit", "Quit", id="tail.quit"),
    Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="tail.quit-interrupt"),
    Binding("f", "follow", "Follow", id="tail.follow"),
    Binding("slash", "search", "Search", key_display="/", id="tail.search"),
    Binding("n", "next_match", "Next match", id="tail.next-match"),
    Binding("N", "previous_match", "Prev match", key_display="N", id="tail.previous-match"),
    Binding("g", "next_gap", "Next gap", id="tail.next-gap"),
    Binding("c", "cancel_task", "Cancel task", id="tail.cancel-task"),
    Binding("r", "replay_task", "Replay task", id="tail.replay-task"),
    Binding("s", "save_capture", "Save capture", id="tail.save-capture"),
    Binding("1", "toggle_filter('failed')", "Failed only", show=False, id="tail.filter-failed"),
    Binding("2", "toggle_filter('cancelled')", "Cancelled only", show=False, id="tail.filter-cancelled"),
    Binding("3", "toggle_filter('gaps')", "With gaps only", show=False, id="tail.filter-gaps"),
    Binding("0", "clear_filters", "All tasks", show=False, id="tail.filter-none"),
    Binding("e", "errors_only", "Errors only", show=False, id="tail.errors-only"),
    Binding("i", "inspect_call", "Inspect call", show=False, id="tail.inspect-call"),
]
"""Every key of the main screen; each has an id (for keymaps) and a description."""


class TailLogsApp(TaskKeysApp):
    """One screen: task tree, log view, recent calls, status bar and footer."""

    CSS_PATH = "app.tcss"
    TITLE = "rpcctl tail-logs"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = list(BINDINGS)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]  # noqa: RUF012 (Textual declares it so)

    def __init__(
        self,
        model: LogModel,
        *,
        mode: str,
        status: StatusInfo,
        actions: TuiActions,
        source: SourceLike | None = None,
        refresh_interval: float = 0.1,
        clock: Callable[[], str] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.mode = mode
        self.status = status
        self.actions = actions
        self.source = source
        self.refresh_interval = refresh_interval
        self.stop_event = asyncio.Event()
        self.source_ended = False
        self.selected: NodeKey | None = None
        self.messages: list[str] = []
        self._auto_selected: NodeKey | None = None
        """The task selected at start (not by the person)."""
        """The feedback shown on the status line, oldest first (the last MAX_MESSAGES)."""
        self._clock = clock or (lambda: time.strftime("%Y%m%d-%H%M%S"))

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield FilterBar(id="filters")
                yield TaskTree(self.model, id="tree")
            with Vertical(id="right"):
                yield Static(id="loghead")
                yield LogView(id="log")
                yield SearchBar(id="search")
                yield CallsTable(id="calls", describe=lambda record: call_summary(self.model, record))
        yield StatusBar(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # Held here because query_one searches the active screen, and the help screen
        # may be on top while the timer refreshes the main one.
        self.task_tree = self.query_one(TaskTree)
        self.log_view = self.query_one(LogView)
        self.log_head = self.query_one("#loghead", Static)
        self.search_bar = self.query_one(SearchBar)
        self.calls_table = self.query_one(CallsTable)
        self.status_bar = self.query_one(StatusBar)
        self.filter_bar = self.query_one(FilterBar)
        self.filter_bar.show(self.task_tree.filters)
        self.search_bar.display = False
        self.refresh_views(self.model.take_changes(), everything=True)
        if self.source is not None:
            self.run_worker(self._pump(), name="pump", group="pump", exit_on_error=True)
        self.set_interval(self.refresh_interval, self._tick, name="refresh")
        self.task_tree.focus()

    async def _pump(self) -> None:
        assert self.source is not None  # checked by on_mount
        ended = await pump(self.source, self.model, stop=self.stop_event)
        if ended:
            self.source_ended = True
            failed = self._select_first_failed()
            text = "end of the capture: every event is loaded"
            self.notify(text + (f"; task {failed[:8]} failed" if failed else ""), timeout=6)

    def _select_first_failed(self) -> str | None:
        """Select the first failed task in tree order unless the person moved off the task selected
        at start; its tx_uuid, or None."""
        if self.selected != self._auto_selected:
            return None
        self.refresh_views(self.model.take_changes())  # the tree holds every task loaded
        tasks = self.model.tasks
        shown = [str(key[1]) for key in self.task_tree.task_keys()]
        failed = next((tx for tx in shown if tx in tasks and tasks[tx].badge == Badge.FAILED), None)
        if failed is not None:
            self._select(("task", failed))
            self.call_after_refresh(self.task_tree.select_key, ("task", failed))
        return failed

    async def on_unmount(self) -> None:
        self.stop_event.set()

    # -- refresh ----------------------------------------------------------------------

    def _tick(self) -> None:
        changes = self.model.take_changes()
        self.refresh_views(changes)

    def refresh_views(self, changes: Changes, *, everything: bool = False) -> None:
        """Redraw what `changes` names (everything on the first call)."""
        tree = self.task_tree
        if everything:
            changes.runners = True
            changes.calls = True
        if changes.runners or changes.tasks:
            tree.update_from(changes)
            shown = tree.task_keys()
            if self.selected is None and shown:
                # The top task of the tree, so the log shows what the eye finds first.
                first = shown[0]
                self._auto_selected = first
                self._select(first)
                # The new nodes get their lines on the next refresh; move the cursor then.
                self.call_after_refresh(tree.select_key, first)
        if self.selected is not None and self._touches(changes, self.selected):
            self._show_selected()
        if changes.calls:
            self.calls_table.update_from(self.model.stats)
        log = self.log_view
        self.status_bar.show(status_text(self.mode, self.status, self.model, following=log.follow))

    def _touches(self, changes: Changes, node: NodeKey) -> bool:
        tx = task_of(node)
        if tx is None:
            return bool(changes.tasks)
        if node[0] == "action":
            return (tx, *node[2:]) in changes.streams or tx in changes.tasks
        return tx in changes.tasks

    def _show_selected(self) -> None:
        log = self.log_view
        log.set_title(node_title(self.model, self.selected))
        head = header_text(self.model, self.selected)
        self.log_head.update(head)
        self.log_head.display = bool(head.plain)
        log.set_lines(build_lines(self.model, self.selected))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show `message` on the status line for `timeout` seconds (5 by default) and keep it in
        `messages`; no toast, as a toast covered the calls table. `title` and `markup` are unused."""
        self.messages.append(message)
        del self.messages[:-MAX_MESSAGES]
        status_bar = getattr(self, "status_bar", None)
        if status_bar is not None:
            status_bar.flash(message, severity, timeout if timeout is not None else 5.0)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[NodeKey]) -> None:
        self._select(event.node.data)

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeKey]) -> None:
        self._select(event.node.data)

    def _select(self, key: NodeKey | None) -> None:
        if key is None or key == self.selected:
            return
        self.selected = key
        log = self.log_view
        log.current_match = None
        log.follow = True
        self._show_selected()

    # -- actions ----------------------------------------------------------------------

    def action_follow(self) -> None:
        """Follow new rows again (or stop following)."""
        log = self.log_view
        log.current_match = None
        log.follow = not log.follow

    def action_search(self) -> None:
        """Open the search bar."""
        bar = self.search_bar
        bar.display = True
        bar.focus()

    def on_input_submitted(self, event: SearchBar.Submitted) -> None:
        """Search the shown rows; with no match there, the tree (runners, tasks, names, states)."""
        bar = self.search_bar
        query = event.value
        count = self.log_view.search(query)
        bar.display = False
        self.log_view.focus()
        if count:
            self.notify(f"{count} matches for {query!r}")
            return
        node = self.task_tree.find_label(query, after=self.selected)
        if node is None:
            self.notify(f"no match for {query!r}")
            return
        self.task_tree.select_key(node)
        self._select(node)
        self.task_tree.focus()
        self.notify(f"no row matches {query!r}: selected {node_title(self.model, node)}")

    def on_search_bar_closed(self, _: SearchBar.Closed) -> None:
        self.search_bar.display = False
        self.log_view.focus()

    def action_next_match(self) -> None:
        """Go to the next search match (and say which)."""
        log = self.log_view
        self.notify("no search matches" if log.goto_match() is None else log.where())

    def action_previous_match(self) -> None:
        """Go to the previous search match (and say which)."""
        log = self.log_view
        self.notify("no search matches" if log.goto_match(backwards=True) is None else log.where())

    def action_next_gap(self) -> None:
        """Go to the next gap in this view, else select the next stream that has one, else the
        view's first gap again; say which."""
        log = self.log_view
        if log.goto_gap() is not None:
            self.notify(log.where())
            return
        streams = [k for k in sorted(self.model.streams) if self.model.streams[k].gap_count]
        current = ("action", *self.selected[1:]) if self.selected and self.selected[0] == "action" else None
        keys: list[NodeKey] = [("action", *k) for k in streams]
        later = [k for k in keys if current is None or k > current] or keys
        if not later or later[0] == current:
            self.notify("no gaps" if log.goto_first_gap() is None else log.where())
            return
        self.task_tree.select_key(later[0])
        self._select(later[0])
        log.current_match = None
        log.goto_gap()
        self.notify(log.where())

    def action_toggle_filter(self, name: str) -> None:
        """Show only failed, cancelled or gap-holding tasks (toggles; several combine with or)."""
        tree = self.task_tree
        self._set_filters(tree.filters ^ {name})

    def action_clear_filters(self) -> None:
        """Show every task again."""
        self._set_filters(frozenset())

    def _set_filters(self, filters: frozenset[str]) -> None:
        tree = self.task_tree
        tree.set_filters(filters)
        self.filter_bar.show(filters)
        shown = sum(1 for task in self.model.tasks.values() if tree.task_matches(task))
        selected = self.model.tasks.get(task_of(self.selected) or "")
        if selected is None or not tree.task_matches(selected):
            # The selection is hidden: show the first task the filter keeps (or stay).
            kept = tree.task_keys()
            if kept:
                self._select(kept[0])
                self.call_after_refresh(tree.select_key, kept[0])
        what = " or ".join(sorted(filters)) if filters else "all"
        self.notify(f"{shown} of {len(self.model.tasks)} tasks shown ({what})")

    def action_errors_only(self) -> None:
        """Show only failed calls and ack mismatches in the calls table (or all again)."""
        table = self.calls_table
        table.show_errors_only(self.model.stats, not table.errors_only)
        shown = "only failed calls and ack mismatches" if table.errors_only else "every call"
        self.notify(f"calls table: {shown}")

    def on_data_table_row_selected(self, event: CallsTable.RowSelected) -> None:
        if event.data_table is self.calls_table:
            self._inspect(event.row_key.value)

    def action_inspect_call(self) -> None:
        """Open the call under the calls table's cursor (Enter there does the same)."""
        table = self.calls_table
        if not table.row_count:
            self.notify("no call to inspect yet", severity="warning")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self._inspect(key)

    def _inspect(self, key: str | None) -> None:
        record = next((r for r in self.model.stats.recent if str(r.seq) == key), None)
        if record is None:
            self.notify("that call is no longer kept", severity="warning")
            return
        carried = call_summary(self.model, record)
        self.push_screen(CallScreen(record, carried, self._redactor(), self.model.first_started))

    def _redactor(self) -> Redactor | None:
        """The inspector's redactor, made once (so one secret keeps one placeholder)."""
        redact = self.status.redact
        if redact is False:
            return None
        if not isinstance(redact, Redactor):
            redact = Redactor()
        self.status = replace(self.status, redact=redact)
        return redact

    def action_help(self) -> None:
        """Show every key binding."""
        self.push_screen(HelpScreen(BINDINGS))

    def selected_streams(self) -> list[StreamKey]:
        """The stream keys under the selected node."""
        return node_streams(self.model, self.selected) if self.selected is not None else []


def create_app(
    model: LogModel,
    *,
    mode: str,
    status: StatusInfo | None = None,
    actions: TuiActions | None = None,
    source: SourceLike | None = None,
    refresh_interval: float = 0.1,
) -> TailLogsApp:
    """The tail-logs app over `model`, fed from `source` (None: the model is filled already)."""
    return TailLogsApp(
        model,
        mode=mode,
        status=status or StatusInfo(),
        actions=actions or TuiActions(),
        source=source,
        refresh_interval=refresh_interval,
    )
