"""The r key in --from mode: a real replay onto a stand-in, and its outcome reported when it ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcctl.cli.tail_logs import _replayer
from rpcctl.proxy.capture import iter_events
from rpcctl.runner.logmodel import LogModel
from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import bundled_files
from rpcctl.tui.actions import StatusInfo, TuiActions
from rpcctl.tui.app import create_app
from tests.runner.replay_support import record, stand_in, task_shape


@pytest.mark.asyncio
async def test_r_replays_the_selected_task_and_reports_its_summary(tmp_path: Path) -> None:
    runner_schema = Schema(bundled_files())
    recorded = task_shape()
    capture = tmp_path / "cap.jsonl"
    await record(runner_schema, capture, [recorded])
    model = LogModel()
    model.ingest_many(iter_events(capture))
    async with stand_in(runner_schema, [task_shape()]) as target:
        url = target.server.url
        actions = TuiActions(replay_task=_replayer(url, capture))
        app = create_app(model, mode="offline", status=StatusInfo(source=str(capture)), actions=actions)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.pause()
            assert app.task_tree.select_key(("task", recorded.tx_uuid))
            await pilot.pause()
            await pilot.press("r")
            await app.workers.wait_for_complete()
            await pilot.pause()
            messages = list(app.messages)
    assert messages[0] == f"replaying task {recorded.tx_uuid[:8]}…"
    assert messages[-1].startswith(f"replayed {recorded.tx_uuid[:8]} onto {url} in ")
    outcome = messages[-1].partition(" s: ")[2]
    assert outcome.startswith(f"ok, {8 * 23} rows, ") and outcome.endswith(" calls"), outcome
