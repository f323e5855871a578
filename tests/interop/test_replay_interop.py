"""Replay onto a RunnerService nobody here wrote: the connect-node peer under /api/v1/pipeline.

The Node peer's RunnerService answers fixed, plausible responses: Register and Declare
always name runner id 1, uuid 00000000-0000-4000-8000-000000000001, with the request's
token (or "token-1"); FetchTask answers success with an empty content (no task id);
UpdateTask answers `running` and success; UpdateLog acks index + len(rows). So a whole
session replays, acks can be checked and the runner identity it issues can be seen in
the summary, but it keeps no state: rows cannot be read back, it never hands out a task
id (the recorded id, or --as-tx, is used) and it cannot cancel a task. Native gRPC cannot
reach it: the peer serves RunnerService only under the prefix, which grpcio cannot send.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from rpcctl.runner.replay import ReplayOptions, replay, replay_task
from rpcctl.runner.replay_sessions import split_sessions
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from tests.runner.replay_support import Recording, record, task_shape

pytestmark = pytest.mark.interop

NODE_RUNNER_UUID = "00000000-0000-4000-8000-000000000001"
PROTOCOLS = [RpcProtocol.CONNECT, RpcProtocol.GRPC_WEB]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    from rpcctl.schema.registry import Schema
    from rpcctl.schema.sources import bundled_files

    path = tmp_path_factory.mktemp("replay-interop") / "capture.jsonl"
    return asyncio.run(record(Schema(bundled_files()), path, [task_shape()]))


def _settings(peer: Any, protocol: RpcProtocol, codec: str = "json") -> ChannelSettings:
    return ChannelSettings(Target.parse(peer.runner_base_url), protocol=protocol, codec=codec)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
@pytest.mark.parametrize("codec", ["json", "proto"])
def test_a_whole_session_replays_onto_the_node_peer(
    node_peer: Any, recording: Recording, protocol: RpcProtocol, codec: str
) -> None:
    recorded_tx = recording.tasks[0].tx_uuid
    calls: list[str] = []

    def observe(method: str, seconds: float, error: BaseException | None) -> None:
        calls.append(method if error is None else f"{method}!{error}")

    summary = asyncio.run(
        replay(
            recording.path, _settings(node_peer, protocol, codec), ReplayOptions(speed=None), observer=observe
        )
    )
    assert summary.ok, summary.to_json()
    assert summary.copies[0].runner_uuid == NODE_RUNNER_UUID
    # No task id from the peer's FetchTask: the recorded one is kept.
    assert summary.tasks == {recorded_tx: [recorded_tx]}
    assert summary.rows == 8 * 23 and summary.ack_mismatches == 0 and summary.cancelled == []
    split = split_sessions(_events(recording.path))
    assert calls == [c.method for c in split.sessions[0].calls]


def test_one_task_onto_a_named_task_id(node_peer: Any, recording: Recording) -> None:
    recorded_tx = recording.tasks[0].tx_uuid
    wanted = "11111111-2222-4333-8444-555555555555"
    summary = asyncio.run(
        replay_task(recording.path, recorded_tx, _settings(node_peer, RpcProtocol.CONNECT), as_tx=wanted)
    )
    assert summary.ok, summary.to_json()
    assert summary.tasks == {recorded_tx: [wanted]}


def test_two_runners_register_separately(node_peer: Any, recording: Recording) -> None:
    summary = asyncio.run(
        replay(
            recording.path, _settings(node_peer, RpcProtocol.GRPC_WEB), ReplayOptions(speed=None, runners=2)
        )
    )
    assert summary.ok and len(summary.copies) == 2
    assert summary.calls == 2 * len(split_sessions(_events(recording.path)).sessions[0].calls)


def _events(path: Path) -> Any:
    from rpcctl.proxy.capture import iter_events

    return iter_events(path)
