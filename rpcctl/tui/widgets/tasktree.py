"""The tree region: runners → tasks → stages → steps → actions, with badges, counts, gap marks."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from rpcctl.runner.logmodel import Changes, LogModel
from rpcctl.runner.logstream import LogStream
from rpcctl.runner.logtree import Badge, TaskInfo, stage_badge
from rpcctl.tui.naming import (
    BADGE_GLYPHS,
    NodeKey,
    action_name,
    node_badge,
    stage_name,
    step_name,
    task_badge,
    task_name,
)

BADGE_STYLES = {
    Badge.PENDING: "dim",
    Badge.RUNNING: "bold yellow",
    Badge.SUCCESS: "bold green",
    Badge.FAILED: "bold red",
    Badge.CANCELLED: "bold magenta",
    Badge.SKIPPED: "dim",
}


def node_label(
    name: str,
    badge: str | None,
    streams: list[LogStream],
    message: str = "",
    *,
    compact: bool = False,
    tags: list[str] | tuple[str, ...] = (),
) -> Text:
    """`✘ name (adopted) failed 120 rows ⚠ 2 gaps: message`: badge, name, `tags`, rows, gap
    mark, failure message.

    `compact` (a narrow screen): `✘ failed 120r ⚠2 adopted name`, state, counts and tags first,
    no message (the log header shows it), so the width cuts the name rather than the facts.
    """
    label = Text()
    if badge is not None:
        label.append(f"{BADGE_GLYPHS.get(badge, '?')} ", BADGE_STYLES.get(badge, ""))
    rows = sum(s.received for s in streams)
    gaps = sum(s.gap_count for s in streams)
    if compact:
        if badge is not None:
            label.append(f"{badge} ", BADGE_STYLES.get(badge, ""))
        if streams:
            label.append(f"{rows}r ", "dim")
        if gaps:
            label.append(f"⚠{gaps} ", "bold red")
        for tag in tags:
            label.append(f"{tag} ", "italic")
        label.append(name)
        return label
    label.append(name)
    for tag in tags:
        label.append(f" ({tag})")
    if badge is not None:
        label.append(f" {badge}", BADGE_STYLES.get(badge, ""))
    if streams:
        label.append(f" {rows} rows", "dim")
    if gaps:
        label.append(f" ⚠ {gaps} gap{'s' if gaps != 1 else ''}", "bold red")
    if message:
        label.append(f": {message}", "red")
    return label


class TaskTree(Tree[NodeKey]):
    """The runner/task tree, updated in place from the model's change sets."""

    def __init__(self, model: LogModel, *, id: str | None = None) -> None:
        super().__init__("runners", id=id)
        self.model = model
        self.show_root = False
        self.guide_depth = 3
        self.compact = False
        """Short labels, state and counts first (set by the app on a narrow screen)."""
        self.filters: frozenset[str] = frozenset()
        """Show only tasks with one of these: `failed`, `cancelled`, `gaps` (empty: all)."""
        self._node_map: dict[NodeKey, TreeNode[NodeKey]] = {}

    def update_from(self, changes: Changes) -> None:
        """Add and relabel the nodes of what changed."""
        model = self.model
        if changes.runners:
            for uuid in sorted(model.runners):
                self._runner_node(uuid)
        tasks = set(changes.tasks)
        if changes.runners:
            tasks.update(model.tasks)
        for tx in sorted(tasks):
            task = model.tasks.get(tx)
            if task is None:
                continue
            if self.task_matches(task):
                self._update_task(task)
            else:
                self._drop_task(tx)

    def on_resize(self) -> None:
        self.set_compact(self.screen.has_class("-narrow"))

    def set_compact(self, compact: bool) -> None:
        """Switch between short and full labels, relabelling every node."""
        if compact == self.compact:
            return
        self.compact = compact
        self.guide_depth = 2 if compact else 3
        self.update_from(Changes(runners=True))

    def set_filters(self, filters: frozenset[str]) -> None:
        """Show only the tasks that match one of `filters` (see `task_matches`)."""
        if filters == self.filters:
            return
        self.filters = filters
        self.update_from(Changes(runners=True))

    def task_matches(self, task: TaskInfo) -> bool:
        """True when the filters let `task` show."""
        if not self.filters:
            return True
        badge = task.badge
        if "failed" in self.filters and badge == Badge.FAILED:
            return True
        if "cancelled" in self.filters and (badge == Badge.CANCELLED or task.cancel_requested):
            return True
        return "gaps" in self.filters and any(self.model.streams[k].gap_count for k in task.streams)

    def _drop_task(self, tx: str) -> None:
        node = self._node_map.get(("task", tx))
        for key in [k for k in self._node_map if k[0] != "runner" and k[1] == tx]:
            del self._node_map[key]
        if node is not None:
            node.remove()

    def find_label(self, query: str, *, after: NodeKey | None = None) -> NodeKey | None:
        """The first node (in tree order, after `after`, wrapping) whose label contains `query`."""
        needle = query.lower()
        if not needle:
            return None
        keys: list[NodeKey] = []

        def walk(node: TreeNode[NodeKey]) -> None:
            for child in node.children:
                if child.data is not None:
                    keys.append(child.data)
                walk(child)

        walk(self.root)
        start = keys.index(after) + 1 if after in keys else 0
        for key in keys[start:] + keys[:start]:
            node = self._node_map.get(key)
            if node is not None and needle in str(node.label).lower():
                return key
        return None

    def task_keys(self) -> list[NodeKey]:
        """The task nodes shown, in tree order (the top one first)."""
        runners = self.root.children
        return [task.data for runner in runners for task in runner.children if task.data is not None]

    def node_for(self, key: NodeKey) -> TreeNode[NodeKey] | None:
        """The tree node of `key`, if shown."""
        return self._node_map.get(key)

    def select_key(self, key: NodeKey) -> bool:
        """Move the cursor to `key`'s node (expanding its parents); False if absent."""
        node = self._node_map.get(key)
        if node is None:
            return False
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.move_cursor(node)
        return True

    # -- building ---------------------------------------------------------------------

    def _runner_node(self, uuid: str) -> TreeNode[NodeKey]:
        key: NodeKey = ("runner", uuid)
        node = self._node_map.get(key)
        runner = self.model.runners[uuid]
        label = Text(f"{runner.label}")
        if runner.labels:
            label.append(f" [{', '.join(runner.labels)}]", "dim")
        if node is None:
            node = self._node_map[key] = self.root.add(label, data=key, expand=True)
        else:
            node.set_label(label)
        return node

    def _child(self, parent: TreeNode[NodeKey], key: NodeKey, label: Text, *, leaf: bool = False) -> None:
        node = self._node_map.get(key)
        if node is not None and node.parent is not parent:
            node.remove()
            node = None
        if node is None:
            if leaf:
                self._node_map[key] = parent.add_leaf(label, data=key)
            else:
                self._node_map[key] = parent.add(label, data=key, expand=True)
        elif node.label != label:
            node.set_label(label)

    def _update_task(self, task: TaskInfo) -> None:
        model = self.model
        tx = task.tx
        runner_node = self._runner_node(task.runner)
        streams = [model.streams[k] for k in sorted(task.streams)]
        task_key: NodeKey = ("task", tx)
        badge = task_badge(task)
        tags = [
            t
            for t, on in (
                ("cancelling", task.cancel_requested and not task.cancelled),
                ("adopted", task.adopted),
            )
            if on
        ]
        failure = task.failure()
        message = failure.message if failure is not None and badge == Badge.FAILED else ""
        label = node_label(task_name(task), badge, streams, message, compact=self.compact, tags=tags)
        self._child(runner_node, task_key, label)
        task_node = self._node_map[task_key]
        stages = sorted({k[0] for k in task.steps} | {k[1] for k in task.streams})
        for stage in stages:
            stage_key: NodeKey = ("stage", tx, stage)
            in_stage = [s for s in streams if s.key[1] == stage]
            label = node_label(
                stage_name(task, stage), stage_badge(task, stage), in_stage, compact=self.compact
            )
            self._child(task_node, stage_key, label)
            steps = sorted(
                {k for k in task.steps if k[0] == stage} | {k[1:4] for k in task.streams if k[1] == stage}
            )
            for step_key in steps:
                info = task.steps.get(step_key)
                step_node_key: NodeKey = ("step", tx, *step_key)
                in_step = [s for s in in_stage if s.key[1:4] == step_key]
                step_badge = node_badge(model, step_node_key)
                message = info.message if info is not None and info.failed else ""
                name = step_name(task, step_key)
                label = node_label(name, step_badge, in_step, message, compact=self.compact)
                self._child(self._node_map[stage_key], step_node_key, label)
                actions = sorted(set(info.actions if info is not None else ()) | {s.key[4] for s in in_step})
                for action in actions:
                    action_streams = [s for s in in_step if s.key[4] == action]
                    name = action_name(task, step_key, action)
                    action_key: NodeKey = ("action", tx, *step_key, action)
                    action_badge = node_badge(model, action_key)
                    self._child(
                        self._node_map[step_node_key],
                        action_key,
                        node_label(name, action_badge, action_streams, compact=self.compact),
                        leaf=True,
                    )
