"""A capture with a line longer than the reader's cap (a 1 GB line must not be read whole):
the line is named, --skip-bad-lines goes on past it, and memory stays near the cap."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from rpcctl.errors import UsageError
from rpcctl.proxy import capture
from tests.support.cli import run_cli

HEADER = {"format": "rpcctl-capture", "version": 1}
START = {"t": 0.1, "call": "c1", "event": "start", "method": "/x.Y/Z", "headers": [["a", "b"]]}
END = {"t": 0.2, "call": "c1", "event": "end", "method": "/x.Y/Z", "code": 0, "message": ""}
CAP = 1 << 20  # the cap for these tests: 1 MiB
LONG = b'{"t": 0.15, "call": "c1", "event": "response", "raw": "' + b"A" * (8 * CAP) + b'"}'


def _write(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture(autouse=True)
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture, "MAX_LINE", CAP)


def test_a_line_over_the_cap_is_named_without_reading_it_whole(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", json.dumps(HEADER).encode(), json.dumps(START).encode(), LONG)
    tracemalloc.start()
    try:
        with pytest.raises(UsageError, match="line 3 is longer than 1 MiB"):
            list(capture.iter_events(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * CAP


def test_skip_bad_lines_goes_on_past_a_long_line(tmp_path: Path) -> None:
    lines = (json.dumps(HEADER).encode(), json.dumps(START).encode(), LONG, json.dumps(END).encode())
    path = _write(tmp_path / "c.jsonl", *lines)
    bad: list[str] = []
    events = list(capture.iter_events(path, skip_bad_lines=True, bad_lines=bad))
    assert [event.kind.value for event in events] == ["start", "end"]
    assert len(bad) == 1 and "line 3" in bad[0]


def test_a_header_line_over_the_cap(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", b'{"format": "' + b"x" * (4 * CAP) + b'"}')
    result = run_cli("tail-logs", "--from", str(path), "--headless")
    assert result.exit_code == 2, result.stderr
    assert "line 1 is longer than 1 MiB" in result.stderr and result.stderr.count("\n") == 1
