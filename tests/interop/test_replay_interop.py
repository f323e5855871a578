"""Replay onto a RunnerService nobody here wrote: the connect-node peer (tests/interop/node_peer).

The Node peer's RunnerService is a small stand-in with state, written in JavaScript from the
protocol, not from rpcctl's code (rules in server.mjs): Register issues its own id, uuid and
token; Declare and FetchTask check the token; FetchTask hands out queued tasks whose content is
JSON with the peer's "tx_uuid"; UpdateTask answers `cancelled` once a task was cancelled;
UpdateLog stores rows per stream with the usual ack rules. Its plain-HTTP control surface on
the same port (/__peer/...) queues tasks, cancels them and reads stored rows back.

A capture is recorded by rpcctl (proxy + recorder in front of rpcctl's stand-in while the
simulator runs a task), then replayed onto the peer over Connect and gRPC-Web (under
/api/v1/pipeline) and native gRPC (at the root, since grpcio cannot send a path prefix):
every recorded row must arrive, the peer's task id and runner identity must be the ones
used, and a cancellation on the peer must stop the task.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from rpcctl.runner.replay import ReplayOptions, ReplaySummary, replay, replay_task
from rpcctl.runner.replay_sessions import split_sessions
from rpcctl.runner.streamkey import StreamKey
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from tests.runner.replay_support import Recording, record, task_shape

pytestmark = pytest.mark.interop

PROTOCOLS = [RpcProtocol.CONNECT, RpcProtocol.GRPC_WEB, RpcProtocol.GRPC]
ROWS = 8 * 23  # task_shape(): 2 stages x 2 steps x 2 actions x 23 rows


# -- the peer's control surface --------------------------------------------------------


def _http(peer: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(peer.base_url + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _enqueue(peer: Any, *docs: dict[str, Any]) -> list[str]:
    status, body = _http(peer, "POST", "/__peer/tasks", list(docs))
    assert status == 200, body
    return list(body["tx_uuids"])


def _cancel(peer: Any, tx: str) -> None:
    status, body = _http(peer, "POST", f"/__peer/cancel/{tx}", {})
    assert status == 200, body


def _task(peer: Any, tx: str) -> dict[str, Any]:
    status, body = _http(peer, "GET", f"/__peer/rows/{tx}")
    assert status == 200, body
    return body


def _stored(peer: Any, tx: str) -> dict[StreamKey, list[str]]:
    """The rows the peer stored for task `tx`, keyed like rpcctl's log store."""
    streams = _task(peer, tx)["streams"]
    return {StreamKey(tx, *map(int, key.split("/"))): value["rows"] for key, value in streams.items()}


def _peer_task_doc(**extra: Any) -> dict[str, Any]:
    """The recorded task's shape, without a task id: the peer issues its own."""
    doc = task_shape().to_dict()
    del doc["tx_uuid"]
    doc.update(extra)
    return doc


def _connect_json(peer: Any, method: str, body: dict[str, Any]) -> tuple[int, Any]:
    """A Connect unary call with JSON, under the prefix, straight over urllib."""
    return _http(peer, "POST", f"/api/v1/pipeline/pkg.proto.runner.v1.RunnerService/{method}", body)


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    from rpcctl.schema.registry import Schema
    from rpcctl.schema.sources import bundled_files

    path = tmp_path_factory.mktemp("replay-interop") / "capture.jsonl"
    return asyncio.run(record(Schema(bundled_files()), path, [task_shape()]))


@pytest.fixture(autouse=True)
def empty_queue(node_peer: Any) -> None:
    """No task left over by another test."""
    status, body = _http(node_peer, "POST", "/__peer/reset", {})
    assert status == 200, body


def _settings(peer: Any, protocol: RpcProtocol, codec: str = "json") -> ChannelSettings:
    # grpcio cannot send a path prefix: native gRPC reaches the RunnerService the peer mounts at the root.
    url = peer.base_url if protocol is RpcProtocol.GRPC else peer.runner_base_url
    return ChannelSettings(Target.parse(url), protocol=protocol, codec=codec)


def _events(path: Path) -> Any:
    from rpcctl.proxy.capture import iter_events

    return iter_events(path)


def _replay(peer: Any, recording: Recording, protocol: RpcProtocol, **kwargs: Any) -> ReplaySummary:
    observer = kwargs.pop("observer", None)
    options = ReplayOptions(speed=None, **kwargs)
    return asyncio.run(replay(recording.path, _settings(peer, protocol), options, observer=observer))


# -- the peer on its own ---------------------------------------------------------------


def test_the_peer_checks_tokens_and_keeps_the_ack_rules(node_peer: Any) -> None:
    status, reg = _connect_json(node_peer, "Register", {"name": "w", "labels": ["probe"]})
    assert status == 200, reg
    runner = reg["runner"]
    status, body = _connect_json(node_peer, "Declare", {"token": "nope", "uuid": runner["uuid"]})
    assert (status, body["code"]) == (401, "unauthenticated")
    status, body = _connect_json(node_peer, "Declare", {"token": runner["token"], "uuid": "other"})
    assert (status, body["code"]) == (404, "not_found")
    status, body = _connect_json(node_peer, "Declare", {"token": runner["token"], "uuid": runner["uuid"]})
    assert status == 200 and body["runner"]["uuid"] == runner["uuid"]

    (tx,) = _enqueue(node_peer, {"labels": ["probe"], "stages": [{"name": "s", "steps": [{"name": "t"}]}]})
    status, fetched = _connect_json(node_peer, "FetchTask", {"token": runner["token"]})
    assert status == 200 and fetched["success"] is True
    assert json.loads(fetched["content"])["tx_uuid"] == tx
    status, body = _connect_json(node_peer, "FetchTask", {"token": runner["token"]})
    assert status == 200 and not body.get("success")

    def log(index: int, rows: list[str], no_more: bool = False) -> Any:
        request = {"txUuid": tx, "index": str(index), "rows": rows, "noMore": no_more}
        status, body = _connect_json(node_peer, "UpdateLog", request)
        assert status == 200, body
        return int(body.get("ackIndex", 0))

    assert log(0, ["a", "b"]) == 2  # index == next: append
    assert log(1, ["b", "c"]) == 3  # overlap: only the new tail
    assert log(5, ["x"]) == 3  # a gap: nothing stored, resend from 3
    assert log(3, ["d"], no_more=True) == 4
    status, body = _connect_json(node_peer, "UpdateLog", {"txUuid": tx, "index": "4", "rows": ["e"]})
    assert (status, body["code"]) == (400, "failed_precondition")
    assert _task(node_peer, tx)["streams"] == {"0/0/0/0": {"rows": ["a", "b", "c", "d"], "closed": True}}

    status, body = _connect_json(node_peer, "UpdateTask", {"txUuid": tx, "state": {"state": "running"}})
    assert status == 200 and body["pipelineState"] == "running"
    _cancel(node_peer, tx)
    status, body = _connect_json(node_peer, "UpdateTask", {"txUuid": tx, "state": {"state": "running"}})
    assert status == 200 and body["pipelineState"] == "cancelled"
    status, body = _connect_json(node_peer, "UpdateLog", {"txUuid": "unknown", "rows": ["x"]})
    assert (status, body["code"]) == (404, "not_found")


# -- replays ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
def test_every_row_arrives_under_the_peers_task_id(
    node_peer: Any, recording: Recording, protocol: RpcProtocol
) -> None:
    recorded_tx = recording.tasks[0].tx_uuid
    (peer_tx,) = _enqueue(node_peer, _peer_task_doc())
    assert peer_tx != recorded_tx
    calls: list[str] = []

    def observe(method: str, seconds: float, error: BaseException | None) -> None:
        calls.append(method if error is None else f"{method}!{error}")

    summary = _replay(node_peer, recording, protocol, observer=observe)
    assert summary.ok, summary.to_json()
    # The id mapping: the recorded task went onto the task the peer handed out.
    assert summary.tasks == {recorded_tx: [peer_tx]}
    assert summary.rows == ROWS and summary.ack_mismatches == 0 and summary.cancelled == []
    assert calls == [c.method for c in split_sessions(_events(recording.path)).sessions[0].calls]

    view = _task(node_peer, peer_tx)
    # The runner identity the peer issued (its token passed FetchTask's check) did the work.
    assert view["runner_uuid"] == summary.copies[0].runner_uuid != ""
    stored = _stored(node_peer, peer_tx)
    sent = recording.sent(recorded_tx)
    assert len(sent) == 8 and sum(map(len, sent.values())) == ROWS
    assert stored == {key._replace(tx_uuid=peer_tx): rows for key, rows in sent.items()}
    assert all(stream["closed"] for stream in view["streams"].values())
    assert set(view["steps"].values()) == {"success"}
    # The recorded id is unknown to the peer.
    assert _http(node_peer, "GET", f"/__peer/rows/{recorded_tx}")[0] == 404


def test_proto_codec_over_connect(node_peer: Any, recording: Recording) -> None:
    recorded_tx = recording.tasks[0].tx_uuid
    (peer_tx,) = _enqueue(node_peer, _peer_task_doc())
    settings = _settings(node_peer, RpcProtocol.CONNECT, codec="proto")
    summary = asyncio.run(replay(recording.path, settings, ReplayOptions(speed=None)))
    assert summary.ok, summary.to_json()
    assert summary.tasks == {recorded_tx: [peer_tx]}
    sent = recording.sent(recorded_tx)
    assert _stored(node_peer, peer_tx) == {k._replace(tx_uuid=peer_tx): v for k, v in sent.items()}


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
def test_two_runners_each_get_their_own_identity_and_task(
    node_peer: Any, recording: Recording, protocol: RpcProtocol
) -> None:
    recorded_tx = recording.tasks[0].tx_uuid
    peer_txs = _enqueue(node_peer, _peer_task_doc(), _peer_task_doc())
    summary = _replay(node_peer, recording, protocol, runners=2)
    assert summary.ok, summary.to_json()
    assert sorted(summary.tasks[recorded_tx]) == sorted(peer_txs)
    uuids = {copy.runner_uuid for copy in summary.copies}
    assert len(uuids) == 2
    sent = recording.sent(recorded_tx)
    for copy in summary.copies:
        peer_tx = copy.tasks[recorded_tx]
        assert _task(node_peer, peer_tx)["runner_uuid"] == copy.runner_uuid
        assert _stored(node_peer, peer_tx) == {k._replace(tx_uuid=peer_tx): v for k, v in sent.items()}


def test_content_without_an_id_maps_onto_as_tx(node_peer: Any, recording: Recording) -> None:
    recorded_tx = recording.tasks[0].tx_uuid
    wanted = "11111111-2222-4333-8444-555555555555"
    _enqueue(node_peer, _peer_task_doc(tx_uuid=wanted, content="an opaque task document"))
    summary = asyncio.run(
        replay_task(recording.path, recorded_tx, _settings(node_peer, RpcProtocol.CONNECT), as_tx=wanted)
    )
    assert summary.ok, summary.to_json()
    assert summary.tasks == {recorded_tx: [wanted]}
    assert sum(map(len, _stored(node_peer, wanted).values())) == ROWS


@pytest.mark.parametrize("when", ["FetchTask", "UpdateLog"])
@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
def test_cancelling_on_the_peer_stops_the_task(
    node_peer: Any, recording: Recording, protocol: RpcProtocol, when: str
) -> None:
    recorded_tx = recording.tasks[0].tx_uuid
    (peer_tx,) = _enqueue(node_peer, _peer_task_doc())
    after: list[str] = []

    def observe(method: str, seconds: float, error: BaseException | None) -> None:
        # Called once each call returned: cancel on the peer as soon as the first `when` arrived.
        if after or method != when:
            if after:
                after.append(method)
            return
        _cancel(node_peer, peer_tx)
        after.append(f"cancelled after {method}")

    summary = _replay(node_peer, recording, protocol, observer=observe)
    assert summary.errors == 0 and summary.ack_mismatches == 0, summary.to_json()
    assert summary.tasks == {recorded_tx: [peer_tx]}
    assert summary.cancelled == [peer_tx]
    view = _task(node_peer, peer_tx)
    assert view["cancelled"] is True
    # The first UpdateTask after the cancel answered `cancelled`; the replay reported the step
    # cancelled and sent nothing more for the task.
    assert after[-2:] == ["UpdateTask", "UpdateTask"] and set(after[1:-2]) <= {"UpdateLog"}, after
    assert "cancelled" in view["steps"].values()
    stored = _stored(node_peer, peer_tx)
    sent = {k._replace(tx_uuid=peer_tx): v for k, v in recording.sent(recorded_tx).items()}
    assert sum(map(len, stored.values())) < ROWS
    for key, rows in stored.items():
        assert rows == sent[key][: len(rows)]  # what arrived is the recorded rows, in order
    if when == "FetchTask":
        assert stored == {} and summary.rows == 0
    else:
        assert stored and {(k.stage_idx, k.step_row_idx) for k in stored} == {(0, 0)}
