"""A scripted h2c server (`tests.bench.raw_h2.ScriptedH2`) on a thread of its own, its answer swappable.

`run_cli` runs its own event loop, so the server lives on another thread's loop; one server
serves every row of a table (the test sets `answer` before each row), and the recording proxy
in front of it keeps its upstream connection across rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.bench.raw_h2 import Answer, ScriptedH2
from tests.support.loopback import on_a_thread
from tests.support.verdicts import Verdict

LIMIT = 10.0  # seconds to start or stop the server


def answer_for(row: Verdict) -> Answer:
    """The scripted answer of a verdict row (an empty body or no trailers: none sent)."""
    status = row.raw_status or str(row.http_status)
    return Answer(status, row.headers, row.body or None, row.trailers or None)


@contextmanager
def threaded_scripted() -> Iterator[ScriptedH2]:
    """A `ScriptedH2` served from a background thread; set its ``answer`` per row."""
    with on_a_thread(ScriptedH2(Answer()), LIMIT, name="scripted-h2") as server:
        yield server
