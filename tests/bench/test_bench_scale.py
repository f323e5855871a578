"""Several targets and balancing policies, several processes, merging reports, report formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.bench.helpers import bench, bench_json
from tests.conftest import GrpcServer


def _per_backend(run: dict[str, object]) -> dict[str, int]:
    backends = run["backends"]
    assert isinstance(backends, dict)
    return {name: stats["count"] for name, stats in backends.items()}


def test_round_robin_spreads_evenly(grpc_server: GrpcServer, grpc_server_b: GrpcServer) -> None:
    run = bench_json(
        "--target", grpc_server.address, "--target", grpc_server_b.address, "Echo", "-n", "20", "-c", "1"
    )
    counts = _per_backend(run)
    assert sorted(counts.values()) == [10, 10]
    assert run["stats"]["count"] == 20


def test_ipv4_list_target(grpc_server: GrpcServer, grpc_server_b: GrpcServer) -> None:
    target = f"ipv4:127.0.0.1:{grpc_server.port},127.0.0.1:{grpc_server_b.port}"
    run = bench_json("--target", target, "Echo", "-n", "10", "-c", "2")
    assert sum(_per_backend(run).values()) == 10
    assert len(_per_backend(run)) == 2


def test_pick_first_uses_the_first_backend(grpc_server: GrpcServer, grpc_server_b: GrpcServer) -> None:
    target = f"ipv4:127.0.0.1:{grpc_server.port},127.0.0.1:{grpc_server_b.port}"
    run = bench_json("--target", target, "--lb", "pick_first", "Echo", "-n", "12", "-c", "3")
    counts = _per_backend(run)
    assert counts == {f"http://127.0.0.1:{grpc_server.port}": 12, f"http://127.0.0.1:{grpc_server_b.port}": 0}


def test_pick_first_skips_an_unreachable_backend(grpc_server: GrpcServer) -> None:
    target = f"ipv4:127.0.0.1:1,127.0.0.1:{grpc_server.port}"
    run = bench_json("--target", target, "--lb", "pick_first", "Echo", "-n", "6", "--connect-timeout", "1s")
    assert _per_backend(run)[f"http://127.0.0.1:{grpc_server.port}"] == 6
    assert any("127.0.0.1:1" in warning for warning in run["warnings"])


def test_least_loaded_uses_every_backend(grpc_server: GrpcServer, grpc_server_b: GrpcServer) -> None:
    run = bench_json(
        "--target", grpc_server.address, "--target", grpc_server_b.address, "--lb", "least_loaded",
        "Echo", "-n", "30", "-c", "4",
    )  # fmt: skip
    counts = _per_backend(run)
    assert sum(counts.values()) == 30
    assert all(count > 0 for count in counts.values())


def test_dns_target(grpc_server: GrpcServer) -> None:
    run = bench_json("--target", f"dns:///127.0.0.1:{grpc_server.port}", "Echo", "-n", "5")
    assert run["stats"]["count"] == 5
    assert run["targets"] == [f"http://127.0.0.1:{grpc_server.port}"]


def test_workers_merge_equals_sum_of_parts(grpc_server: GrpcServer) -> None:
    result = bench(grpc_server.address, "Echo", "-n", "41", "-c", "4", "--workers", "2", "-O", "json")
    assert result.exit_code == 0, result.stderr
    run = json.loads(result.stdout)["runs"][0]
    assert run["stats"]["count"] == 41
    assert sorted(run["part_counts"]) == [20, 21]
    assert run["options"]["workers"] == 2
    from rpcctl.bench.histogram import LatencyHistogram

    assert LatencyHistogram.decode(run["stats"]["histogram"]).count == 41


def test_workers_keep_template_sequence_unique(recorder: object) -> None:
    from tests.bench.conftest import Recorder

    assert isinstance(recorder, Recorder)
    result = bench(
        recorder.target, "Echo", "-n", "20", "-c", "4", "--workers", "2", "-d", '{"message": "{{seq}}"}'
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(int(m) for m in recorder.messages()) == list(range(20))


def test_shard_runs_its_part(grpc_server: GrpcServer) -> None:
    run = bench_json(grpc_server.address, "Echo", "-n", "10", "-c", "4", "--shard", "1/3")
    assert run["stats"]["count"] == 3


def test_bad_shard_is_a_usage_error(grpc_server: GrpcServer) -> None:
    assert bench(grpc_server.address, "Echo", "--shard", "3/3").exit_code == 2


def test_merge_combines_reports(grpc_server: GrpcServer, tmp_path: Path) -> None:
    for index, count in enumerate((7, 5)):
        result = bench(
            grpc_server.address, "Echo", "-n", str(count), "-O", "json", "-o", str(tmp_path / f"{index}.json")
        )
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
    merged = bench(
        "merge", str(tmp_path / "0.json"), str(tmp_path / "1.json"), "-O", "json", grpc_defaults=False
    )
    assert merged.exit_code == 0, merged.stderr
    run = json.loads(merged.stdout)["runs"][0]
    assert run["stats"]["count"] == 12
    assert run["parts"] == 2
    assert sorted(run["part_counts"]) == [5, 7]
    summary = bench("merge", str(tmp_path / "0.json"), str(tmp_path / "1.json"), grpc_defaults=False)
    assert "Count:        12" in summary.stdout


def test_merge_rejects_what_is_not_a_report(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    result = bench("merge", str(path), grpc_defaults=False)
    assert result.exit_code == 2
    assert "not an rpcctl bench JSON report" in result.stderr


def test_summary_report(grpc_server: GrpcServer) -> None:
    result = bench(grpc_server.address, "Echo", "-n", "10")
    assert result.exit_code == 0, result.stderr
    for text in ("Count:        10", "Calls/sec:", "p99.9", "Latency histogram (ms):", "[OK]  10 calls", "■"):
        assert text in result.stdout


def test_csv_report(grpc_server: GrpcServer, grpc_server_b: GrpcServer) -> None:
    result = bench(
        "--target", grpc_server.address, "--target", grpc_server_b.address, "Echo", "-n", "8", "-O", "csv"
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["backend"] == "*"
    assert int(rows[0]["count"]) == 8
    assert sum(int(row["count"]) for row in rows[1:]) == 8
    assert float(rows[0]["p99.9_ms"]) >= float(rows[0]["p50_ms"])


def test_html_report_is_self_contained(grpc_server: GrpcServer, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = bench(grpc_server.address, "Echo", "-n", "10", "-O", "html", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<figure class='chart'>") == 3
    # Everything inline: no script, style sheet or image fetched when the report is opened.
    assert "src=" not in html and "<link" not in html and "@import" not in html and "url(" not in html


@pytest.mark.parametrize("option", [("-O", "yaml"), ("--lb", "random"), ("--pick", "first"), ("--rps", "0")])
def test_bad_options_are_usage_errors(grpc_server: GrpcServer, option: tuple[str, str]) -> None:
    assert bench(grpc_server.address, "Echo", *option).exit_code == 2


def test_live_board_and_result_of_worker_processes_agree(grpc_server: GrpcServer, test_schema: Any) -> None:
    """The merged result must not be the first process's record the live view still reads."""
    import asyncio

    from rpcctl.bench.job import BenchJob
    from rpcctl.bench.payloads import build_payload_spec, encoder_for
    from rpcctl.bench.plan import BenchPlan
    from rpcctl.bench.processes import run_in_processes
    from rpcctl.bench.progress import ProgressBoard
    from tests.bench.helpers import ECHO, settings

    found = test_schema.find_method("Echo")
    cls = test_schema.message_class(found.input_type)
    name = found.input_type.full_name
    payloads = build_payload_spec(
        ["{}"], test_schema.to_protoset(), name, "proto", encoder_for(cls, test_schema.pool, "proto")
    )
    target = settings(grpc_server.address, "grpc")
    job = BenchJob(plan=BenchPlan(concurrency=2, total=20), method=ECHO, backends=((grpc_server.address, target),),
                   payloads=payloads)  # fmt: skip
    board = ProgressBoard(2)
    result = asyncio.run(run_in_processes(job, 2, board))
    phase, live = board.snapshot()
    assert result.stats.count == 20
    assert (phase, live.count) == ("done", 20)
