"""Builds the CallEvents of RunnerService calls for the log model, headless and TUI tests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rpcctl.call_events import CallEvent, EventKind

SERVICE = "/pkg.proto.runner.v1.RunnerService"
TX = "6f1c0000-0000-4000-8000-000000000001"
TX2 = "6f1c0000-0000-4000-8000-000000000002"


class Calls:
    """Numbers calls c1, c2… and advances a fake clock by 1 ms per event."""

    def __init__(self, *, peer: str = "127.0.0.1:5000", protocol: str = "connect") -> None:
        self.peer = peer
        self.protocol = protocol
        self.count = 0
        self.time = 0.0

    def _tick(self) -> float:
        self.time += 0.001
        return self.time

    def call(
        self,
        method: str,
        request: dict[str, Any] | None,
        response: dict[str, Any] | None = None,
        *,
        code: int = 0,
        headers: Sequence[Sequence[str]] = (),
        peer: str | None = None,
    ) -> list[CallEvent]:
        """START, REQUEST, RESPONSE (unless None) and END of one unary call."""
        self.count += 1
        call_id = f"c{self.count}"
        path = f"{SERVICE}/{method}"
        info = {
            "method": path,
            "protocol": self.protocol,
            "codec": "proto",
            "headers": [list(h) for h in headers],
            "peer": self.peer if peer is None else peer,
        }
        events = [CallEvent(EventKind.START, call_id, path, self._tick(), info=info)]
        events.append(CallEvent(EventKind.REQUEST, call_id, path, self._tick(), message=request))
        if response is not None:
            events.append(CallEvent(EventKind.RESPONSE, call_id, path, self._tick(), message=response))
        end = {"code": code, "message": "", "details": [], "trailers": [], "duration": 0.002}
        events.append(CallEvent(EventKind.END, call_id, path, self._tick(), info=end))
        return events

    def register(
        self, name: str, uuid: str, token: str, labels: Iterable[str] = ("linux",), **kw: Any
    ) -> list[CallEvent]:
        """A Register call answered with runner `uuid` and `token`."""
        runner = {"id": "1", "uuid": uuid, "token": token, "name": name, "labels": list(labels)}
        return self.call("Register", {"name": name, "token": "reg"}, {"runner": runner}, **kw)

    def declare(self, uuid: str, token: str, name: str = "", **kw: Any) -> list[CallEvent]:
        """A Declare call for runner `uuid`."""
        runner = {"id": "1", "uuid": uuid, "token": token, "name": name}
        return self.call("Declare", {"token": token, "uuid": uuid}, {"runner": runner}, **kw)

    def fetch(
        self, token: str, tx: str | None, *, stages: Sequence[dict[str, Any]] = (), **kw: Any
    ) -> list[CallEvent]:
        """A FetchTask call answered with task `tx` (None: no task) and its `stages` document."""
        document: dict[str, Any] = {"tx_uuid": tx}
        if stages:
            document["stages"] = list(stages)
        response = {"success": True, "content": json.dumps(document)} if tx else {}
        return self.call("FetchTask", {"token": token}, response, **kw)

    def task(
        self,
        tx: str,
        stage: int,
        step: int,
        state: str,
        *,
        row: int = 0,
        actions: Sequence[tuple[int, str, str]] = (),
        pipeline: str = "running",
        message: str = "",
        start: int = 100,
        end: int = 0,
        **kw: Any,
    ) -> list[CallEvent]:
        """An UpdateTask call; `actions` are (index, name, state); times in Unix seconds."""
        request: dict[str, Any] = {
            "txUuid": tx,
            "stepIdx": step,
            "state": {"state": state, "startTime": str(start)},
        }
        if end:
            request["state"]["endTime"] = str(end)
        if stage:
            request["stageIdx"] = stage
        if row:
            request["stepRowIdx"] = row
        if message:
            request["state"]["message"] = message
        if actions:
            request["state"]["actions"] = [{"index": i, "name": n, "state": s} for i, n, s in actions]
        return self.call("UpdateTask", request, {"pipelineState": pipeline, "success": True}, **kw)

    def log(
        self,
        tx: str,
        key: tuple[int, int, int, int],
        index: int,
        rows: Sequence[str],
        *,
        no_more: bool = False,
        ack: int | None = None,
        **kw: Any,
    ) -> list[CallEvent]:
        """An UpdateLog call on stream (stage, row, step, action), acked `index + len(rows)` by default."""
        stage, row, step, action = key
        request: dict[str, Any] = {"txUuid": tx, "index": str(index), "rows": list(rows)}
        for name, value in (
            ("stageIdx", stage),
            ("stepRowIdx", row),
            ("stepIdx", step),
            ("actionIdx", action),
        ):
            if value:
                request[name] = value
        if no_more:
            request["noMore"] = True
        ack = index + len(rows) if ack is None else ack
        return self.call("UpdateLog", request, {"ackIndex": str(ack)}, **kw)


def rows(prefix: str, start: int, stop: int) -> list[str]:
    """Row texts `prefix start` … `prefix stop-1`."""
    return [f"{prefix} {i}" for i in range(start, stop)]
