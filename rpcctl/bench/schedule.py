"""Open-loop pacing: the offsets at which calls are due, from a `LoadSchedule`."""

from __future__ import annotations

from collections.abc import Iterator

from rpcctl.bench.plan import LoadSchedule

# The rate is integrated in steps this long (it is constant within a step).
STEP = 0.001
EPSILON = 1e-9


def due_times(schedule: LoadSchedule, limit: float | None = None) -> Iterator[float]:
    """Offsets in seconds from the start at which calls are due, in order, up to `limit`.

    Call n is due when the integral of the rate reaches n, so the number of calls due over a
    window is the integral of the rate over it, whatever the wall clock does.
    """
    step = 0
    owed = 0.0  # the integral of the rate so far
    due = 0  # the next call's number
    while True:
        at = step * STEP
        if limit is not None and at >= limit - EPSILON:
            return
        rate = schedule.rate_at(at)
        after = owed + rate * STEP
        while due < after:
            when = at + (due - owed) / rate
            if limit is not None and when >= limit - EPSILON:
                return
            yield when
            due += 1
        owed = after
        step += 1
