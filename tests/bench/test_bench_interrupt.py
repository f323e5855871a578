"""Ctrl-C during `rpcctl bench`: the partial report of what ran, exit 130 (as ghz does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bench.conftest import SCHEMA, Recorder
from tests.bench.helpers import ctrl_c

WAIT = 60.0  # a bound on each wait, never a figure asserted


def _start(recorder: Recorder, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "rpcctl", "bench", recorder.target, "Echo", "--protocol", "grpc"]
    return subprocess.Popen(
        [*command, *SCHEMA, "-z", "10m", "-c", "2", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        start_new_session=True,  # a group of its own, as a terminal's foreground job
    )


def _interrupt_after_calls(recorder: Recorder, proc: subprocess.Popen[str], calls: int) -> tuple[str, str]:
    deadline = time.monotonic() + WAIT
    while len(recorder.messages()) < calls:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"bench made no {calls} calls (exit {proc.returncode}): {err}")
        time.sleep(0.05)
    return ctrl_c(proc, WAIT)


@pytest.mark.parametrize("workers", [("1",), ("2",), ("1", "--rps", "300")])
def test_sigint_prints_the_partial_report_and_exits_130(recorder: Recorder, workers: tuple[str, ...]) -> None:
    proc = _start(recorder, "--workers", *workers, "-O", "json")
    out, err = _interrupt_after_calls(recorder, proc, 20)
    assert proc.returncode == 130, err
    (run,) = json.loads(out)["runs"]
    assert run["interrupted"] is True
    assert run["stats"]["count"] > 0
    assert run["stats"]["errors"] == 0  # the calls cancelled in flight are not counted as failures
    assert run["stats"]["count"] <= len(recorder.messages())
    assert "interrupted" in err and "Traceback" not in err


def test_sigint_summary_says_interrupted_and_o_says_where(recorder: Recorder, tmp_path: Path) -> None:
    report = tmp_path / "partial.txt"
    proc = _start(recorder, "--workers", "1", "-o", str(report))
    out, err = _interrupt_after_calls(recorder, proc, 10)
    assert proc.returncode == 130, err
    text = report.read_text()
    assert "Interrupted:  yes" in text
    count = int(text.split("Count:", 1)[1].split()[0])
    assert count > 0
    assert f"wrote the summary report of {count} calls to {report}" in err
    assert out == ""


def test_merging_interrupted_reports_is_not_itself_interrupted(recorder: Recorder, tmp_path: Path) -> None:
    from tests.bench.helpers import bench

    proc = _start(recorder, "--workers", "1", "-O", "json")
    out, err = _interrupt_after_calls(recorder, proc, 10)
    assert proc.returncode == 130, err
    part = tmp_path / "part.json"
    part.write_text(out)
    merged = bench("merge", str(part), str(part), "-O", "json", grpc_defaults=False)
    assert merged.exit_code == 0, merged.stderr
    (run,) = json.loads(merged.stdout)["runs"]
    assert run["interrupted"] is True
    assert run["stats"]["count"] == 2 * json.loads(out)["runs"][0]["stats"]["count"]


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to see the workers start")
def test_sigint_while_worker_processes_start_still_reports(recorder: Recorder) -> None:
    proc = _start(recorder, "--workers", "2", "-O", "json")
    deadline = time.monotonic() + WAIT
    while len(_children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    out, err = ctrl_c(proc, WAIT)  # the workers may still be importing rpcctl
    assert proc.returncode == 130, err
    (run,) = json.loads(out)["runs"]
    assert run["interrupted"] is True
    assert "Traceback" not in err and "died" not in err
