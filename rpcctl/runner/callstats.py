"""Recent RPC calls and the sliding-window counters of the tail-logs status bar."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rpcctl.wire.status import Code


@dataclass(slots=True)
class CallRecord:
    """One call: short method name, protocol, status once ended, latency in seconds.

    The rest is what the call inspector shows: the full method path, peer, codec,
    request and response messages (proto3 JSON objects), request and response headers and trailers as
    (name, value) pairs, the status message and details, and `note` (an ack mismatch).
    """

    seq: int
    call_id: str
    method: str
    protocol: str = ""
    started: float = 0.0
    code: int | None = None
    latency: float | None = None
    path: str = ""
    peer: str = ""
    codec: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    trailers: list[tuple[str, str]] = field(default_factory=list)
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    message: str = ""
    details: list[Any] = field(default_factory=list)
    note: str = ""

    @property
    def failed(self) -> bool:
        """True for a call that ended with an error status or an ack mismatch."""
        return bool(self.code) or bool(self.note)

    @property
    def status(self) -> str:
        """The status name (`OK`, `UNAVAILABLE`…), or `…` while the call runs."""
        return "…" if self.code is None else Code.from_number(self.code).name


class CallStats:
    """Bounded list of finished calls, error count, and calls/s and rows/s over a window.

    The window counts what the model ingested per second of `clock` (not the events'
    own timestamps), so offline captures show the ingest rate and live modes show the
    arrival rate.
    """

    def __init__(
        self,
        *,
        max_recent: int = 200,
        window: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recent: deque[CallRecord] = deque(maxlen=max_recent)
        """Finished calls, oldest first."""
        self.window = window
        self.clock = clock
        self.calls = 0
        self.rows = 0
        self.errors = 0
        self.finished = 0
        """Sequence number of the last finished call (views append the newer ones)."""
        self._buckets: deque[list[float]] = deque()  # [second, calls, rows]

    def _bucket(self) -> list[float]:
        second = float(int(self.clock()))
        buckets = self._buckets
        if not buckets or buckets[-1][0] != second:
            buckets.append([second, 0, 0])
            while buckets and buckets[0][0] <= second - self.window - 1:
                buckets.popleft()
        return buckets[-1]

    def count_call(self) -> None:
        """A call started."""
        self.calls += 1
        self._bucket()[1] += 1

    def count_rows(self, count: int) -> None:
        """`count` log rows arrived."""
        self.rows += count
        self._bucket()[2] += count

    def finish(self, record: CallRecord, code: int, latency: float) -> None:
        """A call ended with `code` after `latency` seconds."""
        record.code = code
        record.latency = latency
        if code != 0:
            self.errors += 1
        self.finished += 1
        record.seq = self.finished
        self.recent.append(record)

    def rates(self, now: float | None = None) -> tuple[float, float]:
        """(calls/s, rows/s) over the last `window` seconds before `now` (default: clock)."""
        now = self.clock() if now is None else now
        low = now - self.window
        calls = rows = 0.0
        for second, c, r in self._buckets:
            if second >= low:
                calls += c
                rows += r
        return calls / self.window, rows / self.window
