"""`rpcctl bench` over native gRPC against the real grpcio TestService: stop conditions, pacing, requests."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.bench.conftest import Recorder
from tests.bench.helpers import bench, bench_json
from tests.conftest import GrpcServer


def test_total_stops_after_n_calls(grpc_server: GrpcServer) -> None:
    run = bench_json(grpc_server.address, "Echo", "-n", "30", "-c", "4", "-d", '{"message": "x"}')
    stats = run["stats"]
    assert stats["count"] == 30
    assert stats["codes"] == {"OK": 30}
    assert stats["latency_ms"]["p99"] >= stats["latency_ms"]["p50"] > 0
    assert run["protocol"] == "grpc"
    assert run["method"] == "rpcctl.test.v1.TestService/Echo"


def test_duration_stops_the_run(grpc_server: GrpcServer) -> None:
    run = bench_json(grpc_server.address, "Echo", "-z", "0.3s", "-c", "2")
    assert run["stats"]["count"] > 0
    assert run["stats"]["errors"] == 0
    assert run["options"]["duration"] == "0.3s"


def test_open_loop_starts_calls_at_the_rate(grpc_server: GrpcServer) -> None:
    # 40 calls/s over 1 s: 40 calls are due, whatever the wall clock did.
    run = bench_json(grpc_server.address, "Echo", "--rps", "40", "-z", "1s", "-c", "5")
    assert 36 <= run["stats"]["count"] <= 44
    assert run["stats"]["late"] >= 0


def test_step_schedule_integrates_the_rate(grpc_server: GrpcServer) -> None:
    # 20/s for 0.5 s then 40/s for 0.5 s: 10 + 20 calls.
    run = bench_json(
        grpc_server.address, "Echo", "--load-schedule", "step", "--load-start", "20", "--load-step", "20",
        "--load-step-duration", "0.5s", "-z", "1s",
    )  # fmt: skip
    assert 27 <= run["stats"]["count"] <= 33


def test_line_schedule_with_an_end_rate(grpc_server: GrpcServer) -> None:
    # from 10/s rising 40/s each second, capped at 30/s: about 10*0.5 + ... stays between the bounds.
    run = bench_json(
        grpc_server.address, "Echo", "--load-schedule", "line", "--load-start", "10", "--load-step", "40",
        "--load-end", "30", "-z", "1s",
    )  # fmt: skip
    assert 10 <= run["stats"]["count"] <= 30


def test_open_loop_with_total(grpc_server: GrpcServer) -> None:
    run = bench_json(grpc_server.address, "Echo", "--rps", "200", "-n", "15")
    assert run["stats"]["count"] == 15


def test_warmup_calls_are_not_counted(grpc_server: GrpcServer) -> None:
    run = bench_json(grpc_server.address, "Echo", "--warmup", "0.2s", "-n", "10", "-c", "2")
    assert run["stats"]["count"] == 10
    assert run["warmup_calls"] > 0


def test_templates_render_per_call(recorder: Recorder) -> None:
    data = '{"message": "{{seq}}|{{uuid}}|{{worker}}|{{rand_int 3 5}}|{{rand_str 6}}|{{now_ns}}"}'
    run = bench_json(recorder.target, "Echo", "-n", "40", "-c", "3", "-d", data, "-H", "x-call: c-{{seq}}")
    assert run["stats"]["count"] == 40
    parts = [message.split("|") for message in recorder.messages()]
    assert sorted(int(p[0]) for p in parts) == list(range(40))
    assert len({p[1] for p in parts}) == 40
    assert all(uuid.UUID(p[1]) for p in parts)
    assert {int(p[2]) for p in parts} <= {0, 1, 2}
    assert {int(p[3]) for p in parts} <= {3, 4, 5}
    assert all(len(p[4]) == 6 and p[4].isalnum() for p in parts)
    assert all(int(p[5]) > 0 for p in parts)
    assert sorted(recorder.header("x-call")) == sorted(f"c-{n}" for n in range(40))


def test_static_request_is_sent_as_is(recorder: Recorder) -> None:
    bench_json(recorder.target, "Echo", "-n", "5", "-d", '{"message": "same"}', "-H", "x-k: v")
    assert recorder.messages() == ["same"] * 5
    assert recorder.header("x-k") == ["v"] * 5


def test_data_file_round_robin(recorder: Recorder, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text('{"message": "a"}\n{"message": "b"}\n\n{"message": "c-{{seq}}"}\n')
    bench_json(recorder.target, "Echo", "-n", "9", "-c", "1", "--data-file", str(path))
    assert recorder.messages() == ["a", "b", "c-2", "a", "b", "c-5", "a", "b", "c-8"]


def test_data_file_random_pick(recorder: Recorder, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text('{"message": "a"}\n{"message": "b"}\n')
    bench_json(recorder.target, "Echo", "-n", "30", "--data-file", str(path), "--pick", "random")
    messages = recorder.messages()
    assert len(messages) == 30
    assert set(messages) <= {"a", "b"}


def test_server_streaming_counts_responses(grpc_server: GrpcServer) -> None:
    run = bench_json(grpc_server.address, "Count", "-n", "6", "-c", "2", "-d", '{"count": 3}')
    assert run["stats"]["count"] == 6
    assert run["stats"]["responses"] == 18


def test_bidi_streaming_sends_n_messages(grpc_server: GrpcServer) -> None:
    run = bench_json(
        grpc_server.address, "Chat", "-n", "4", "--stream-messages", "3", "--stream-interval", "1ms",
        "-d", '{"message": "m{{seq}}"}',
    )  # fmt: skip
    assert run["stats"]["count"] == 4
    assert run["stats"]["responses"] == 12


def test_client_streaming(grpc_server: GrpcServer) -> None:
    run = bench_json(grpc_server.address, "Sum", "-n", "5", "--stream-messages", "4", "-d", '{"n": 2}')
    assert run["stats"]["codes"] == {"OK": 5}


def test_errors_are_counted_by_code(grpc_server: GrpcServer, tmp_path: Path) -> None:
    path = tmp_path / "fail.jsonl"
    path.write_text('{"code": 5, "message": "gone"}\n{"code": 7, "message": "no"}\n')
    run = bench_json(grpc_server.address, "Fail", "-n", "10", "-c", "1", "--data-file", str(path), expect=1)
    stats = run["stats"]
    assert stats["codes"] == {"NOT_FOUND": 5, "PERMISSION_DENIED": 5}
    assert stats["messages"] == {"NOT_FOUND: gone": 5, "PERMISSION_DENIED: no": 5}
    assert stats["error_rate"] == 1.0


def test_max_error_rate_gates_the_exit_status(grpc_server: GrpcServer) -> None:
    failing = ("Fail", "-n", "4", "-d", '{"code": 14}')
    assert bench(grpc_server.address, *failing).exit_code == 1
    assert bench(grpc_server.address, *failing, "--max-error-rate", "0.5").exit_code == 1
    assert bench(grpc_server.address, *failing, "--max-error-rate", "1").exit_code == 0
    result = bench(grpc_server.address, *failing)
    assert "above --max-error-rate" in result.stderr


def test_timeout_is_deadline_exceeded(grpc_server: GrpcServer) -> None:
    run = bench_json(
        grpc_server.address, "Echo", "-n", "2", "--timeout", "20ms", "-d", '{"delay_ms": 300}', expect=1
    )
    assert run["stats"]["codes"] == {"DEADLINE_EXCEEDED": 2}


def test_several_connections(grpc_server: GrpcServer) -> None:
    run = bench_json(grpc_server.address, "Echo", "-n", "20", "--connections", "3")
    assert run["stats"]["count"] == 20


def test_bad_template_is_a_usage_error(grpc_server: GrpcServer) -> None:
    result = bench(grpc_server.address, "Echo", "-d", '{"message": "{{nope}}"}')
    assert result.exit_code == 2
    assert "unknown template function 'nope'" in result.stderr


def test_bad_request_json_is_a_usage_error(grpc_server: GrpcServer) -> None:
    result = bench(grpc_server.address, "Echo", "-d", '{"nosuch": 1}')
    assert result.exit_code == 2, result.stderr


def test_unreachable_target_is_an_error() -> None:
    result = bench("127.0.0.1:1", "Echo", "-n", "1", "--connect-timeout", "1s")
    assert result.exit_code == 1
    assert "cannot connect" in result.stderr
