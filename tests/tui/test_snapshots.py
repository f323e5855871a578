"""Snapshot tests of the tail-logs screens (pytest-textual-snapshot; `--snapshot-update` to accept)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from rpcctl.tui.actions import StatusInfo
from rpcctl.tui.app import TailLogsApp, create_app
from tests.tui.callevents import TX
from tests.tui.conftest import scripted_model
from tests.tui.trial import MAKE, trial_model

pytest.importorskip("pytest_textual_snapshot")

SIZE = (120, 34)


def app() -> TailLogsApp:
    status = StatusInfo(listen="127.0.0.1:8080", upstream="http://ci.example:3000/api/v1/pipeline")
    return create_app(scripted_model(), mode="proxy", status=status)


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause(0.25)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def test_main_screen(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=settle)


def test_help_screen(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=SIZE, press=["question_mark"], run_before=settle)


def test_gap(snap_compare: Any) -> None:
    async def to_gap(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        tailing = pilot.app
        assert isinstance(tailing, TailLogsApp)
        assert tailing.task_tree.select_key(("step", TX, 0, 0, 1))
        await pilot.pause()
        await pilot.press("g")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=to_gap)


SIZES = {"80x24": (80, 24), "160x45": (160, 45)}


def trial_app() -> TailLogsApp:
    return create_app(trial_model(), mode="offline", status=StatusInfo(source="trial.jsonl"))


def selecting(key: tuple[str | int, ...]) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A `run_before` that selects the tree node `key` and lets the screen settle."""

    async def select(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        tailing = pilot.app
        assert isinstance(tailing, TailLogsApp)
        assert tailing.task_tree.select_key(key)
        await settle(pilot)

    return select


@pytest.mark.parametrize("size", SIZES)
def test_failed_task_with_its_message(snap_compare: Any, size: str) -> None:
    run_before = selecting(("step", TX, 0, 1, 0))
    assert snap_compare(trial_app(), terminal_size=SIZES[size], run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_stream_with_a_gap_a_resend_and_refused_rows(snap_compare: Any, size: str) -> None:
    run_before = selecting(("action", TX, *MAKE))
    assert snap_compare(trial_app(), terminal_size=SIZES[size], run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_call_inspector(snap_compare: Any, size: str) -> None:
    async def to_call(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        tailing = pilot.app
        assert isinstance(tailing, TailLogsApp)
        tailing.calls_table.focus()
        tailing.calls_table.show_errors_only(tailing.model.stats, True)  # as `e` does, without its toast
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(trial_app(), terminal_size=SIZES[size], run_before=to_call)


@pytest.mark.parametrize("size", SIZES)
def test_filter_bar(snap_compare: Any, size: str) -> None:
    status = StatusInfo(source="run.jsonl")
    filtered = create_app(scripted_model(), mode="offline", status=status)

    async def to_failed(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        tailing = pilot.app
        assert isinstance(tailing, TailLogsApp)
        tailing.task_tree.set_filters(frozenset({"failed"}))  # as the 1 key does, without its toast
        tailing.filter_bar.show(tailing.task_tree.filters)
        await settle(pilot)

    assert snap_compare(filtered, terminal_size=SIZES[size], run_before=to_failed)
