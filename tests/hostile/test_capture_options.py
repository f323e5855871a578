"""tail-logs --from on a damaged capture (--skip-bad-lines), and the redaction options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rpcctl.errors import UsageError
from tests.support.cli import run_cli

HEADER = {"format": "rpcctl-capture", "version": 1}
START = {"t": 0.1, "call": "c1", "event": "start", "method": "/x.Y/Z", "headers": [["a", "b"]]}
END = {"t": 0.2, "call": "c1", "event": "end", "method": "/x.Y/Z", "code": 0, "message": ""}


def _capture(tmp_path: Path, *middle: bytes) -> Path:
    path = tmp_path / "c.jsonl"
    lines = [json.dumps(HEADER).encode(), json.dumps(START).encode(), *middle, json.dumps(END).encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            json.dumps({"t": 0.15, "call": "c1", "event": "response", "raw": 123}).encode(),
            "raw is not a string",
        ),
        (
            json.dumps({"t": 0.15, "call": "c1", "event": "start", "headers": 5}).encode(),
            "headers is not a list",
        ),
        (b'{"t": 0.15, "call": "c1", "eve', "is not valid JSON"),
        (b"[" * 50_000, "is not valid JSON"),
    ],
)
def test_bad_line_is_named_and_skip_bad_lines_goes_on(tmp_path: Path, line: bytes, problem: str) -> None:
    path = _capture(tmp_path, line)
    result = run_cli("tail-logs", "--from", str(path), "--headless")
    assert result.exit_code == 2, result.stderr
    assert "line 3" in result.stderr and problem in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    skipped = run_cli("tail-logs", "--from", str(path), "--headless", "--skip-bad-lines")
    assert skipped.exit_code == 0, skipped.stderr
    assert "1 calls" in skipped.stdout or "1 call" in skipped.stdout


def test_redaction_options() -> None:
    from rpcctl.cli.tail_logs import _redaction
    from rpcctl.proxy.redact import REDACTED, Redactor

    assert _redaction(False, [], []) is True
    assert _redaction(True, [], []) is False
    redactor = _redaction(False, ["X-Tenant"], ["content.env.PASS"])
    assert isinstance(redactor, Redactor)
    assert redactor.headers([["x-tenant", "acme"]]) == [["x-tenant", REDACTED]]
    with pytest.raises(UsageError):
        _redaction(True, ["x-tenant"], [])
    with pytest.raises(UsageError):
        _redaction(False, [], ["a..b"])
