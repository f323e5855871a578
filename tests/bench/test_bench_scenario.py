"""`--scenario runner` against the project's stand-in RunnerService (rpcctl.server)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.bench.helpers import bench, ctrl_c


@pytest.fixture
def standin_url() -> Iterator[str]:
    """The stand-in RunnerService with tasks queued, served in a thread of its own."""
    from rpcctl.runner.handlers import build_table
    from rpcctl.runner.standin import StandInService
    from rpcctl.runner.tasks import parse_tasks
    from rpcctl.server.serve import Server
    from tests.support.loopback import rpcctl_server_on_a_thread
    from tests.support.schema import compile_runner_schema

    schema = compile_runner_schema()
    step = {"name": "log", "actions": [{"name": "a"}]}
    tasks = parse_tasks([{"tx_uuid": f"t{i}", "stages": [{"name": "s", "steps": [step]}]} for i in range(6)])
    server = Server(build_table(StandInService(schema, tasks), schema), listen="127.0.0.1:0", schema=schema)
    with rpcctl_server_on_a_thread(server) as url:
        yield url


def test_runner_scenario_reports_update_log(standin_url: str) -> None:
    result = bench(
        standin_url, "--scenario", "runner", "--runners", "3", "--rows-per-sec", "200", "-z", "0.5s",
        "--protocol", "connect", "-O", "json", grpc_defaults=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    run = json.loads(result.stdout)["runs"][0]
    assert run["method"].endswith("/UpdateLog")
    assert run["stats"]["count"] > 0
    scenario = run["scenario"]
    assert scenario["runners"] == 3
    assert scenario["rows_acked"] > 0
    assert scenario["ack_mismatches"] == 0
    assert {"Register", "FetchTask", "UpdateLog"} <= set(run["backends"])


def test_unknown_scenario_is_a_usage_error() -> None:
    result = bench("127.0.0.1:1", "--scenario", "nope", grpc_defaults=False)
    assert result.exit_code == 2


def test_runner_starts_are_spread_over_one_batch_interval() -> None:
    from rpcctl.bench.scenario import MAX_STAGGER, start_offsets

    offsets = start_offsets(4, 0.5)  # 50-row batches at 100 rows/s
    assert offsets == [0.0, 0.125, 0.25, 0.375]
    assert max(start_offsets(1000, 30.0)) < MAX_STAGGER  # slow rates: starts still within a second
    assert start_offsets(3, 0.0) == [0.0, 0.0, 0.0]
    assert start_offsets(0, 0.5) == []


def test_runner_scenario_sigint_reports_what_ran(tmp_path: object) -> None:
    import subprocess
    import sys
    import time

    from rpcctl.runner.handlers import build_table
    from rpcctl.runner.standin import StandInService
    from rpcctl.runner.tasks import parse_tasks
    from rpcctl.server.serve import Server
    from tests.support.loopback import rpcctl_server_on_a_thread
    from tests.support.schema import compile_runner_schema

    schema = compile_runner_schema()
    step = {"name": "log", "actions": [{"name": "a"}]}
    tasks = parse_tasks([{"tx_uuid": f"t{i}", "stages": [{"name": "s", "steps": [step]}]} for i in range(2)])
    service = StandInService(schema, tasks)

    def rows() -> int:
        for _ in range(10):
            try:
                return sum(len(lines) for t in ("t0", "t1") for lines in service.rows(t).values())
            except RuntimeError:  # changed by the server's thread meanwhile: read again
                continue
        return 0

    with rpcctl_server_on_a_thread(
        Server(build_table(service, schema), listen="127.0.0.1:0", schema=schema)
    ) as url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rpcctl", "bench", url, "--scenario", "runner", "--runners", "2",
             "--rows-per-sec", "100", "-z", "10m", "--protocol", "connect", "-O", "json"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while rows() == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        out, err = ctrl_c(proc)
    assert proc.returncode == 130, err
    (run,) = json.loads(out)["runs"]
    assert run["interrupted"] is True
    assert run["backends"]["Register"]["count"] >= 1  # a runner registered before its rows arrived
    assert run["scenario"] == {"runners": 2, "rows_per_sec_per_runner": 100.0}
