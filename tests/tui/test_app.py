"""The tail-logs TUI through Textual's pilot."""

from __future__ import annotations

import asyncio

import pytest

from rpcctl.runner.logmodel import LogModel
from rpcctl.tui.actions import StatusInfo, TuiActions
from rpcctl.tui.app import BINDINGS, TailLogsApp, create_app
from rpcctl.tui.screens.help import HelpScreen
from tests.tui.callevents import TX, TX2, Calls, rows
from tests.tui.conftest import scripted_events

SIZE = (120, 34)
ACTION = ("action", TX, 0, 0, 0, 0)


def label(app: TailLogsApp, key: tuple[object, ...]) -> str:
    node = app.task_tree.node_for(key)  # type: ignore[arg-type]
    assert node is not None, key
    return str(node.label)


def texts(app: TailLogsApp) -> list[str]:
    return [line.text for line in app.log_view.lines]


async def select(pilot: object, app: TailLogsApp, key: tuple[object, ...]) -> None:
    """Move the tree cursor to `key` once the tree has laid out its lines."""
    await pilot.pause()  # type: ignore[attr-defined]
    assert app.task_tree.select_key(key)  # type: ignore[arg-type]
    await pilot.pause()  # type: ignore[attr-defined]
    assert app.selected == key


def notifications(app: TailLogsApp) -> list[str]:
    return list(app.messages)


@pytest.mark.asyncio
async def test_tree_shows_runners_tasks_stages_steps_actions_with_badges(model: LogModel) -> None:
    app = create_app(model, mode="offline")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert label(app, ("runner", "u-1")) == "linux-1 [linux]"
        assert label(app, ("runner", "u-2")) == "mac-1 [macos, arm64]"
        assert label(app, ("task", TX)) == "● task 6f1c0000 running 15 rows ⚠ 1 gap"
        assert label(app, ("task", TX2)) == "✘ task 6f1c0000 failed 1 rows: exit status 2"
        assert label(app, ("stage", TX, 0)) == "● build #0 running 15 rows ⚠ 1 gap"
        assert label(app, ("step", TX, 0, 0, 0)) == "✔ checkout #0 success 7 rows ⚠ 1 gap"
        assert label(app, ("step", TX, 0, 0, 1)) == "● compile #1 running 8 rows"
        assert label(app, ACTION) == "✔ checkout #0 success 7 rows ⚠ 1 gap"
        assert label(app, ("action", TX, 0, 0, 1, 1)) == "○ test #1 pending"
        # Unnamed by the content: indices; a failed step shows its message.
        assert label(app, ("stage", TX2, 0)) == "✘ stage 0 failed 1 rows"
        assert label(app, ("step", TX2, 0, 0, 0)) == "✘ step 0 failed 1 rows: exit status 2"
        # The first task is selected at start: its streams interleaved with a prefix.
        assert app.selected == ("task", TX)
        first = app.log_view.lines[0]
        assert (first.prefix, first.text, first.state) == (
            "checkout ",
            "── checkout #0 success at 00:01:40 ──",
            "success",
        )
        assert next(line.prefix for line in app.log_view.lines if line.index is not None) == "checkout "
        assert "warning: unused variable" in texts(app)


@pytest.mark.asyncio
async def test_selecting_an_action_shows_its_rows_and_gap(model: LogModel) -> None:
    app = create_app(model, mode="offline")
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, ACTION)
        assert app.selected == ACTION
        assert texts(app) == [
            "── checkout #0 success ──",
            *rows("cloning repository", 0, 5),
            "── 3 rows missing: #5–#7 ──",
            *rows("cloning repository", 8, 10),
        ]
        assert all(line.prefix == "" for line in app.log_view.lines)


@pytest.mark.asyncio
async def test_search_highlights_and_n_moves(model: LogModel) -> None:
    app = create_app(model, mode="offline")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        assert app.search_bar.display and app.search_bar.has_focus
        await pilot.press(*"compiling", "enter")
        await pilot.pause()
        log = app.log_view
        assert not app.search_bar.display
        assert len(log.matches) == 7 and log.current_match == log.matches[0]
        assert not log.follow
        await pilot.press("n")
        assert log.current_match == log.matches[1]
        await pilot.press("N", "N")
        assert log.current_match == log.matches[-1]  # wraps around


@pytest.mark.asyncio
async def test_g_jumps_to_the_gap(model: LogModel) -> None:
    app = create_app(model, mode="offline")
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, ("step", TX, 0, 0, 1))  # no gap under this step
        await pilot.press("g")
        await pilot.pause()
        assert app.selected == ACTION
        log = app.log_view
        assert log.current_match is not None and log.lines[log.current_match].gap


@pytest.mark.asyncio
async def test_c_cancels_the_selected_task_through_the_actions(model: LogModel) -> None:
    cancelled: list[str] = []

    async def cancel(tx: str) -> None:
        cancelled.append(tx)

    app = create_app(model, mode="stand-in", actions=TuiActions(cancel_task=cancel))
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, ("step", TX, 0, 0, 1))
        await pilot.press("c")
        await pilot.pause()
        assert cancelled == [TX]
        assert model.tasks[TX].cancel_requested
        assert "(cancelling)" in label(app, ("task", TX))


@pytest.mark.asyncio
async def test_missing_actions_are_not_available_and_failures_are_shown(model: LogModel) -> None:
    def broken(path: str) -> None:
        raise OSError(f"cannot write {path}")

    status = StatusInfo(save_path="cap-{time}.jsonl")
    app = create_app(model, mode="proxy", status=status, actions=TuiActions(save_capture=broken))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("c", "r", "s")
        await pilot.pause()
        messages = notifications(app)
        assert "cancel task: not available in this mode" in messages
        assert "replay task: not available in this mode" in messages
        assert any(m.startswith("save capture failed: cannot write /") and "cap-" in m for m in messages)


@pytest.mark.asyncio
async def test_help_lists_every_binding(model: LogModel) -> None:
    app = create_app(model, mode="offline")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table")
        cells = {str(cell) for row in range(table.row_count) for cell in table.get_row_at(row)}  # type: ignore[attr-defined]
        for binding in BINDINGS:
            assert binding.id in cells and binding.description in cells
        assert {b.id for b in BINDINGS} >= {
            "tail.follow",
            "tail.search",
            "tail.next-match",
            "tail.previous-match",
            "tail.next-gap",
            "tail.cancel-task",
            "tail.replay-task",
            "tail.save-capture",
            "tail.help",
            "tail.quit",
        }
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.asyncio
async def test_follow_key_and_scrolling_up() -> None:
    c = Calls()
    model = LogModel()
    model.ingest_many(c.log(TX, (0, 0, 0, 0), 0, rows("line", 0, 200)))
    app = create_app(model, mode="offline")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        log = app.log_view
        assert log.follow and log.scroll_y == log.max_scroll_y > 0
        await pilot.press("f")
        assert not log.follow
        await pilot.press("f")
        await pilot.pause()
        assert log.follow and log.scroll_y == log.max_scroll_y
        log.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        assert not log.follow
        model.ingest_many(c.log(TX, (0, 0, 0, 0), 200, rows("line", 200, 210)))
        await pilot.pause(0.3)
        assert log.scroll_y == 0 and len(log.lines) == 210  # new rows shown, position kept


@pytest.mark.asyncio
async def test_offline_source_is_fed_in_chunks_and_the_app_stays_open() -> None:
    c = Calls()
    events = list(scripted_events())
    for i in range(200):  # 20,000 more rows
        events += c.log(TX, (0, 0, 2, 0), i * 100, rows("bulk", i * 100, i * 100 + 100))
    model = LogModel()
    app = create_app(model, mode="offline", source=iter(events), status=StatusInfo(source="x.jsonl"))
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.source_ended:
                break
        assert app.source_ended and app.is_running
        assert model.streams[(TX, 0, 0, 2, 0)].received == 20_000
        await pilot.pause(0.2)
        assert notifications(app)[-1].startswith("end of the capture: every event is loaded")
        assert label(app, ("step", TX, 0, 0, 2)) == "step 2 20000 rows"


@pytest.mark.asyncio
async def test_live_subscription_source() -> None:
    from rpcctl.call_events import EventBus

    bus = EventBus()
    model = LogModel()
    with bus.subscribe() as subscription:
        app = create_app(
            model, mode="stand-in", source=subscription, status=StatusInfo(listen="127.0.0.1:8080")
        )
        async with app.run_test(size=SIZE) as pilot:
            for event in scripted_events():
                bus.publish(event)
            await pilot.pause(0.3)
            assert set(model.tasks) == {TX, TX2}
            assert label(app, ("runner", "u-1")) == "linux-1 [linux]"
            await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_screen_text_shows_tree_log_calls_and_status(model: LogModel) -> None:
    status = StatusInfo(listen="127.0.0.1:8080", capture_file="run.jsonl")
    app = create_app(model, mode="stand-in", status=status)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, ACTION)
        screen = "\n".join("".join(s.text for s in strip) for strip in app.screen._compositor.render_strips())
        for expected in (
            "linux-1 [linux]",
            "✔ checkout #0 success 7 rows",
            "── 3 rows missing: #5–#7 ──",
            "UpdateLog",
            "UNAVAILABLE",
            " stand-in  │ 3 calls/s │ 3 rows/s │ 1 errors",
            "listen 127.0.0.1:8080",
            "capture run.jsonl",
            "? Help",
        ):
            assert expected in screen, expected


@pytest.mark.asyncio
async def test_a_pending_action_whose_rows_arrive_shows_running() -> None:
    c = Calls()
    model = LogModel()
    model.ingest_many(
        [
            *c.register("linux-1", "u-1", "tok-1"),
            *c.fetch("tok-1", TX),
            *c.task(TX, 0, 0, "running", actions=[(0, "build", "pending"), (1, "test", "pending")]),
            *c.log(TX, (0, 0, 0, 0), 0, rows("compiling", 0, 3)),
        ]
    )
    app = create_app(model, mode="offline")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert label(app, ACTION) == "● build #0 running 3 rows"
        assert label(app, ("action", TX, 0, 0, 0, 1)) == "○ test #1 pending"
