"""Times a runner reports are shown whatever their value: a hostile int64 in an UpdateTask's
start_time/end_time used to raise OSError out of time.gmtime while the TUI drew the node."""

from __future__ import annotations

import pytest

from rpcctl.runner.logtree import StateEntry
from rpcctl.tui.naming import clock, entry_text


def test_ordinary_time() -> None:
    assert clock(3 * 3600 + 4 * 60 + 5) == "03:04:05"


@pytest.mark.parametrize("seconds", [2**62, -(2**62), 2**63 - 1])
def test_time_out_of_range_is_shown_as_the_number(seconds: int) -> None:
    assert clock(seconds) == str(seconds)
    assert entry_text("make #0", StateEntry(1, "success", time=seconds)) == f"make #0 success at {seconds}"
