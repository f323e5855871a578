"""Diagnosing a failed task from the TUI alone: the trial's failure, gap, resend and refused rows,
and the rough edges (Ctrl-C, c on a failed task, r's outcome, narrow screens, toasts)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets._toast import Toast

from rpcctl.tui.actions import StatusInfo, TuiActions
from rpcctl.tui.app import TailLogsApp, create_app
from rpcctl.tui.screens.call import CallScreen
from tests.tui.callevents import TX, Calls
from tests.tui.trial import FAILURE, MAKE, TEST, trial_events, trial_model

WIDE = (160, 45)
SMALL = (80, 24)
MAKE_NODE = ("action", TX, *MAKE)
PROXY_STATUS = StatusInfo(listen="127.0.0.1:45200", upstream="http://127.0.0.1:45113/api/v1/pipeline")


def screen_text(app: TailLogsApp) -> str:
    return "\n".join("".join(s.text for s in strip) for strip in app.screen._compositor.render_strips())


@asynccontextmanager
async def running_trial(size: tuple[int, int]) -> AsyncIterator[tuple[TailLogsApp, Pilot[None]]]:
    """The trial's app, offline, running at `size` with its first refresh done."""
    app = create_app(trial_model(), mode="offline")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        yield app, pilot


def table_rows(app: TailLogsApp) -> list[list[str]]:
    """The calls table's cells as text, oldest call first."""
    table = app.calls_table
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def notifications(app: TailLogsApp) -> list[str]:
    return list(app.messages)


async def select(pilot: object, app: TailLogsApp, key: tuple[object, ...]) -> None:
    await pilot.pause()  # type: ignore[attr-defined]
    assert app.task_tree.select_key(key)  # type: ignore[arg-type]
    await pilot.pause()  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_failure_message_in_tree_title_and_header() -> None:
    app = create_app(trial_model(), mode="offline")
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, app, MAKE_NODE)
        screen = screen_text(app)
        assert f"✘ task 6f1c0000 failed 12 rows ⚠ 1 gap: {FAILURE}"[:60] in screen
        assert "task 6f1c0000 › build #0 › compile #1 › make #0" in screen
        # the action's own state first, then its step's failure, labelled as the step's
        assert "✘ make #0 failure" in screen
        assert f"step failed: compile #1 failure at 22:13:26 after 4s: {FAILURE}" in screen
        assert (
            "7 rows · acked 3 · 4 ack ≠ · 1 gap (2 missing) · 2 resent · 4 refused · 1 late · closed"
            in screen
        )
        for row in (
            "── 2 rows missing: #3–#4 ──",
            "#5 [refused] [resent] cc -c 5",
            "#8 [refused] [after no_more] a row after no_more",
        ):
            assert row in screen, row
        assert "OK ack 3 ≠ 7" in screen


@pytest.mark.asyncio
async def test_narrow_screen_shows_states_and_row_counts() -> None:
    async with running_trial(SMALL) as (app, pilot):
        screen = screen_text(app)
        for label in ("✘ failed 12r ⚠1 task 6f1c0000", "✘ failed 7r ⚠1 make #0", "– skipped 2r test #1"):
            assert label in screen, label
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert "✘ make #0 failed 7 rows ⚠ 1 gap" in screen_text(app)


@pytest.mark.asyncio
async def test_ctrl_c_quits() -> None:
    app = create_app(trial_model(), mode="offline")
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


@pytest.mark.asyncio
async def test_c_is_refused_on_a_failed_task() -> None:
    cancelled: list[str] = []
    app = create_app(trial_model(), mode="stand-in", actions=TuiActions(cancel_task=cancelled.append))
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, app, ("task", TX))
        await pilot.press("c")
        await pilot.pause()
        assert cancelled == []
        assert "task 6f1c0000 already failed: nothing to cancel" in notifications(app)


@pytest.mark.asyncio
async def test_r_reports_the_replay_outcome_when_it_ends() -> None:
    finish = asyncio.Event()

    async def replay(tx: str) -> str:
        await finish.wait()
        return f"replayed {tx[:8]} onto http://127.0.0.1:1: 12 rows, ok"

    app = create_app(trial_model(), mode="offline", actions=TuiActions(replay_task=replay))
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, app, ("task", TX))
        await pilot.press("r")
        await pilot.pause()
        assert notifications(app) == ["replaying task 6f1c0000…"]
        finish.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert notifications(app)[-1] == "replayed 6f1c0000 onto http://127.0.0.1:1: 12 rows, ok"


@pytest.mark.asyncio
async def test_feedback_is_a_status_line_that_covers_nothing() -> None:
    app = create_app(trial_model(), mode="offline")
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await pilot.pause()
        before = screen_text(app).splitlines()
        await pilot.press("s")
        await pilot.pause(0.3)
        assert not [toast for toast in app.screen.query(Toast) if toast.display and toast.region]
        after = screen_text(app).splitlines()
        message = next(line for line in after if "save capture: not available in this mode" in line)
        assert app.status_bar.region.y == after.index(message)
        # the calls table's rows are where they were, uncovered
        table_rows = [line for line in before if "UpdateLog   OK ack 3" in line]
        assert table_rows
        assert all(row in after for row in table_rows)


@pytest.mark.asyncio
async def test_help_footer_title_and_status_fit_80x24() -> None:
    app = create_app(trial_model(), mode="proxy", status=PROXY_STATUS)
    async with app.run_test(size=SMALL) as pilot:
        await select(pilot, app, MAKE_NODE)
        screen = screen_text(app)
        footer = screen.splitlines()[-1]
        assert "? Help" in footer
        assert "q Quit" in footer
        assert "0 errors" in screen.splitlines()[-2]
        assert "› make #0 " in screen  # the log title keeps the selected node's own name
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = screen_text(app)
        for words in ("Help", "Quit", "Errors only", "Esc, q or ? closes"):
            assert words in help_text, words
        await pilot.press("pagedown")  # the table has the focus and scrolls
        await pilot.pause()
        help_text = screen_text(app)
        for words in ("Tab", "Enter", "inspect the call"):
            assert words in help_text, words


@pytest.mark.asyncio
async def test_enter_on_a_call_opens_the_inspector_and_e_filters_errors() -> None:
    async with running_trial(WIDE) as (app, pilot):
        table = app.calls_table
        assert table.row_count == 12
        table.focus()
        await pilot.press("e")
        await pilot.pause()
        assert table.row_count == 4  # the four UpdateLog calls the server answered another ack_index
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CallScreen)
        screen = screen_text(app)
        for expected in (
            "/pkg.proto.runner.v1.RunnerService/UpdateLog",
            "call UpdateLog · make #0 #5–#6 @linux-1 · OK ack 3 ≠ 7 · Esc closes",
            "protocol: connect (proto)",
            "peer: 127.0.0.1:5000",
            "status: OK",
            "ack: ack 3 ≠ 7",
            '"index": "5"',
            '"ackIndex": "3"',
            "timings: started 0.024 s after the first call seen, took 2.0 ms",
        ):
            assert expected in screen, expected
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CallScreen)
        await pilot.press("e")
        await pilot.pause()
        assert table.row_count == 12


@pytest.mark.asyncio
async def test_an_error_call_shows_status_message_and_trailers() -> None:
    from rpcctl.runner.logmodel import LogModel
    from tests.tui.callevents import Calls

    c = Calls()
    events = c.call("Ping", {"data": "x"}, None, code=14, peer="10.0.0.3:1")
    events[-1].info.update({"message": "upstream unreachable", "trailers": [["grpc-status", "14"]]})
    model = LogModel()
    model.ingest_many(events)
    app = create_app(model, mode="proxy")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await pilot.press("i")
        await pilot.pause()
        screen = screen_text(app)
        assert "status: UNAVAILABLE — upstream unreachable" in screen
        assert "grpc-status: 14" in screen


@pytest.mark.asyncio
async def test_an_adopted_task_is_marked_in_the_tree() -> None:
    from rpcctl.runner.logmodel import LogModel
    from tests.tui.callevents import Calls

    events = Calls().log(TX, (0, 0, 0, 0), 0, ["already running"])
    events[-1].info["trailers"] = [["x-rpcctl-adopted", TX]]
    model = LogModel()
    model.ingest_many(events)
    app = create_app(model, mode="stand-in")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        node = app.task_tree.node_for(("task", TX))
        assert node is not None and str(node.label) == "● task 6f1c0000 (adopted) running 1 rows"
        # At 80 columns the mark comes before the name, which the tree's width cuts.
        await pilot.resize_terminal(*SMALL)
        await pilot.pause()
        node = app.task_tree.node_for(("task", TX))
        assert node is not None and str(node.label) == "● running 1r adopted task 6f1c0000"
        assert "● running 1r adopted task 6f1c" in screen_text(app)


@pytest.mark.asyncio
async def test_filter_bar_keys_show_failed_cancelled_or_gap_tasks() -> None:
    from tests.tui.callevents import TX2
    from tests.tui.conftest import scripted_model

    app = create_app(scripted_model(), mode="offline")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        tree = app.task_tree

        def shown() -> set[str]:
            return {str(key[1]) for key in tree._node_map if key[0] == "task"}

        assert shown() == {TX, TX2}
        await pilot.press("1")  # failed
        await pilot.pause()
        assert shown() == {TX2}
        assert "1 ✓failed 2 cancelled 3 gaps 0 all" in screen_text(app)
        await pilot.press("3")  # or with gaps
        await pilot.pause()
        assert shown() == {TX, TX2}
        await pilot.press("1")
        await pilot.pause()
        assert shown() == {TX}
        await pilot.press("2")  # gaps or cancelled: TX has a gap
        await pilot.press("3")
        await pilot.pause()
        assert shown() == set()
        assert notifications(app)[-1] == "0 of 2 tasks shown (cancelled)"
        await pilot.press("0")
        await pilot.pause()
        assert shown() == {TX, TX2}


@pytest.mark.asyncio
async def test_slash_with_no_row_match_finds_a_tree_node() -> None:
    async with running_trial(WIDE) as (app, pilot):
        await pilot.press("slash", *"skipped", "enter")
        await pilot.pause()
        assert app.selected == ("action", TX, 0, 1, 0, 1)
        assert notifications(app)[-1] == (
            "no row matches 'skipped': selected linux-1 › task 6f1c0000 › build #0 › compile #1 › test #1 – skipped"
        )
        await pilot.press("slash", *"test 1", "enter")  # rows of the selected stream match first
        await pilot.pause()
        assert notifications(app)[-1] == "1 matches for 'test 1'"
        assert app.selected == ("action", TX, 0, 1, 0, 1)


@pytest.mark.asyncio
async def test_first_call_of_a_capture_is_shown_whole() -> None:
    from rpcctl.call_events import CallEvent, EventKind
    from rpcctl.runner.logmodel import LogModel
    from rpcctl.runner.tailing import IterableSource

    path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    info = {"method": path, "protocol": "connect", "codec": "proto", "headers": [], "peer": "127.0.0.1:9"}
    end = {"code": 1, "message": "server shutting down", "details": [], "trailers": [], "duration": 615.168}
    events = [
        CallEvent(EventKind.START, "p1", path, 0.001, info=info),
        CallEvent(EventKind.END, "p1", path, 615.2, info=end),
        *trial_events(),
    ]
    app = create_app(LogModel(), mode="offline", source=IterableSource(events))
    async with app.run_test(size=WIDE) as pilot:
        for _ in range(100):  # bounded: the pump reads the whole source, then a refresh shows it
            if app.source_ended:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        table = app.calls_table
        table.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        assert "ServerReflectionInfo  CANCELLED" in screen_text(app)
        assert "615.2 s" in screen_text(app)


def test_an_undecoded_message_is_kept_as_base64_for_the_inspector() -> None:
    from rpcctl.call_events import CallEvent, EventKind
    from rpcctl.runner.logmodel import LogModel
    from rpcctl.tui.calldetails import call_details

    path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    model = LogModel()
    model.ingest_many(
        [
            CallEvent(
                EventKind.START, "p1", path, 0.1, info={"protocol": "connect", "headers": [["host", "h"]]}
            ),
            CallEvent(EventKind.REQUEST, "p1", path, 0.2, raw=b":\x01*"),
            CallEvent(EventKind.END, "p1", path, 0.3, info={"code": 12, "message": "HTTP 404 Not Found"}),
        ]
    )
    text = call_details(model.stats.recent[-1]).plain
    assert '"raw": "OgEq"' in text
    assert "status: UNIMPLEMENTED — HTTP 404 Not Found" in text and "host: h" in text


@pytest.mark.asyncio
async def test_the_calls_table_says_which_call_carried_which_rows() -> None:
    async with running_trial(SMALL) as (app, _pilot):
        rows = table_rows(app)
        carried = [row[2] for row in rows]
        assert carried[:3] == ["linux-1", "task 6f1c0000", "checkout #0 success @linux-1"]
        assert carried.count("make #0 #5–#6 @linux-1") == 2
        row = rows[carried.index("make #0 #5–#6 @linux-1")][:3]
        assert row == ["UpdateLog", "OK ack 3 ≠ 7", "make #0 #5–#6 @linux-1"]
        assert "make #0 #7 no_more @linux-1" in carried
        assert carried[-1] == "compile #1 failure @linux-1"
        # at 80 columns a refused call's status and rows are on screen
        assert "UpdateLog   OK ack 3 ≠ 9  make #0 #8" in screen_text(app)


@pytest.mark.asyncio
async def test_a_skipped_actions_header_describes_the_action_not_its_step() -> None:
    app = create_app(trial_model(), mode="offline")
    async with app.run_test(size=SMALL) as pilot:
        await select(pilot, app, ("action", TX, *TEST))
        text = str(app.query_one("#loghead").render()).splitlines()
        assert text[0].startswith("test #1 skipped"), text
        assert text[1].startswith("step failed: compile #1 failure at 22:13:26 after 4s: make"), text
        assert not any(line.startswith("✘") for line in text), text


@pytest.mark.asyncio
async def test_two_runners_on_the_same_action_read_apart_in_the_calls_table() -> None:
    from tests.tui.callevents import TX2

    c = Calls()
    model = trial_model()
    model.ingest_many(
        [
            *c.register("mac-1", "u-2", "tok-2"),
            *c.fetch("tok-2", TX2),
            *c.task(TX2, 0, 0, "running", row=1, actions=[(0, "make", "running")]),
            *c.log(TX2, MAKE, 5, ["cc -c 5", "cc -c 6"]),
        ]
    )
    app = create_app(model, mode="offline")
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        carried = [row[2] for row in table_rows(app)]
        assert "make #0 #5–#6 @linux-1" in carried
        assert carried[-1] == "make #0 #5–#6 @mac-1"  # the same action and rows, another runner


@pytest.mark.asyncio
@pytest.mark.parametrize("redact", [True, False])
async def test_the_inspector_redacts_credentials_as_the_capture_does(redact: bool) -> None:
    # Screens of the inspector end up in bug reports: the runner's token is not on them,
    # unless tail-logs runs with --no-redact (StatusInfo.redact False).
    calls = Calls()
    calls.count = 100  # call ids after the trial's
    events = [
        *calls.register("linux-1", "u-1", "tok-SECRET-1", headers=[("authorization", "Bearer abc-SECRET")]),
        *calls.fetch("tok-SECRET-1", None, headers=[("x-runner-token", "tok-SECRET-1")]),
    ]
    model = trial_model()
    model.ingest_many(events)
    app = create_app(model, mode="offline", status=StatusInfo(redact=redact))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        for row in (-2, -1):
            app._inspect(
                app.calls_table.coordinate_to_cell_key((app.calls_table.row_count + row, 0)).row_key.value
            )
            await pilot.pause()
            screen = screen_text(app)
            assert ("SECRET" in screen) is not redact, screen
            assert ("[REDACTED" in screen) is redact
            await pilot.press("escape")
            await pilot.pause()


@pytest.mark.asyncio
async def test_s_names_the_whole_path_it_saved_to() -> None:
    saved: list[str] = []
    app = TailLogsApp(
        trial_model(),
        mode="offline",
        status=StatusInfo(save_path="cap-{time}.jsonl"),
        actions=TuiActions(save_capture=saved.append),
        clock=lambda: "20260101-120000",
    )
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("s")
        await pilot.pause()
        whole = str(Path("cap-20260101-120000.jsonl").resolve())
        assert saved == [whole]
        assert app.messages[-1] == f"capture saved to {whole}"


@pytest.mark.asyncio
async def test_after_a_resize_the_title_and_the_last_calls_still_show() -> None:
    app = create_app(trial_model(), mode="offline")
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, app, MAKE_NODE)
        await pilot.resize_terminal(*SMALL)
        await pilot.pause()
        await pilot.pause()
        screen = screen_text(app)
        assert "› make #0 " in screen
        assert "compile #1 fa" in screen  # the last call, not the first ones


@pytest.mark.asyncio
async def test_a_filter_that_hides_the_selected_task_selects_the_first_it_shows() -> None:
    from tests.tui.callevents import TX2
    from tests.tui.conftest import scripted_model

    app = create_app(scripted_model(), mode="offline")
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        assert app.selected == ("task", TX)  # running: the failed filter hides it
        await pilot.press("1")
        await pilot.pause()
        await pilot.pause()
        assert app.selected == ("task", TX2)
        assert app.task_tree.cursor_node is not None
        assert app.task_tree.cursor_node.data == ("task", TX2)
        assert "✘ step 0 failure at 00:01:40: exit status" in screen_text(app)


@pytest.mark.asyncio
async def test_n_and_g_say_where_they_went() -> None:
    async with running_trial(SMALL) as (app, pilot):
        await select(pilot, app, MAKE_NODE)
        await pilot.press("slash", *"cc -c", "enter")
        await pilot.pause()
        assert app.messages[-1] == "5 matches for 'cc -c'"
        await pilot.press("n")
        await pilot.pause()
        assert app.messages[-1].startswith("match ") and app.messages[-1].endswith(" of 5: 'cc -c'")
        first = app.messages[-1]
        await pilot.press("n")
        await pilot.pause()
        assert app.messages[-1] != first
        await pilot.press("g")
        await pilot.pause()
        assert app.messages[-1] == "gap 1 of 1: 2 rows missing: #3–#4"


@pytest.mark.asyncio
async def test_at_the_end_of_a_capture_the_first_failed_task_is_selected() -> None:
    from rpcctl.runner.logmodel import LogModel
    from tests.tui.callevents import TX2
    from tests.tui.conftest import scripted_events

    app = create_app(LogModel(), mode="offline", source=iter(list(scripted_events())))
    async with app.run_test(size=SMALL) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.source_ended:
                break
        await pilot.pause(0.2)
        assert app.selected == ("task", TX2)  # TX, still running, sorts first
        assert app.messages[-1] == "end of the capture: every event is loaded; task 6f1c0000 failed"
