"""Bad input gets one clear line on stderr and the documented exit status, never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TEST_PROTO, GrpcServer
from tests.support.cli import CliResult, run_cli

G = ("--protocol", "grpc")


def _clean(result: CliResult, status: int) -> None:
    assert result.exit_code == status, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")


def test_malformed_json_names_line_and_column(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "-d", '{"message": "a",\n  oops}')
    _clean(result, 2)
    assert "line 2" in result.stderr
    assert "column" in result.stderr


def test_unknown_field_is_named(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "-d", '{"mesage": "a"}')
    _clean(result, 2)
    assert "mesage" in result.stderr


def test_wrong_value_type(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "-d", '{"delayMs": "soon"}')
    _clean(result, 2)
    assert "delayMs" in result.stderr or "delay_ms" in result.stderr


def test_too_many_requests_for_unary(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "-d", "{} {}")
    _clean(result, 2)
    assert "one request" in result.stderr


def test_bad_json_in_a_stdin_stream(grpc_server: GrpcServer) -> None:
    stdin = b'{"message": "a"}\n{"message": \n'
    result = run_cli("call", grpc_server.target, "Chat", *G, "-d", "@-", stdin=stdin)
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_method_suggests(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Eco", *G)
    _clean(result, 2)
    assert "Eco" in result.stderr


def test_ambiguous_method_lists_candidates(grpc_server_noreflect: GrpcServer, tmp_path: Path) -> None:
    other = tmp_path / "other.proto"
    other.write_text(
        'syntax = "proto3";\npackage other.v1;\nimport "google/protobuf/empty.proto";\n'
        "service Other { rpc Echo(google.protobuf.Empty) returns (google.protobuf.Empty); }\n"
    )
    result = run_cli(
        "call", grpc_server_noreflect.target, "Echo", *G,
        "--proto", str(TEST_PROTO), "--proto", str(other), "-I", str(TEST_PROTO.parents[3]), "-I", str(tmp_path),
    )  # fmt: skip
    _clean(result, 2)
    assert "rpcctl.test.v1.TestService" in result.stderr
    assert "other.v1.Other" in result.stderr


def test_unreadable_proto(tmp_path: Path) -> None:
    result = run_cli("list", "--proto", str(tmp_path / "missing.proto"))
    _clean(result, 2)
    assert "missing.proto" in result.stderr


def test_invalid_proto_shows_file_line_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.proto"
    bad.write_text('syntax = "proto3";\nmessage M {\n  strin x = 1;\n}\n')
    result = run_cli("list", "--proto", str(bad))
    assert result.exit_code == 2
    assert "bad.proto:3:" in result.stderr
    assert "Traceback" not in result.stderr


def test_protoset_that_is_not_one(tmp_path: Path) -> None:
    garbage = tmp_path / "x.protoset"
    garbage.write_bytes(b"\xff\xfe not a descriptor set")
    result = run_cli("list", "--protoset", str(garbage))
    _clean(result, 2)
    assert "x.protoset" in result.stderr


def test_server_down_names_the_address(closed_port: int) -> None:
    port = closed_port
    result = run_cli("call", f"127.0.0.1:{port}", "Echo", *G, "--proto", str(TEST_PROTO))
    _clean(result, 1)
    assert f"127.0.0.1:{port}" in result.stderr


def test_reflection_not_enabled_suggests_proto(grpc_server_noreflect: GrpcServer) -> None:
    result = run_cli("list", grpc_server_noreflect.target, *G, "--reflect")
    _clean(result, 1)  # the server's answer, not bad input (issue 11: list exits 1, with the hint)
    assert "reflection" in result.stderr
    assert "--proto" in result.stderr


def test_no_reflection_and_not_bundled(grpc_server_noreflect: GrpcServer) -> None:
    result = run_cli("call", grpc_server_noreflect.target, "Echo", *G)
    _clean(result, 2)
    assert "--proto" in result.stderr


def test_bad_target() -> None:
    result = run_cli("call", "ftp://x", "Echo")
    _clean(result, 2)


def test_bad_header() -> None:
    result = run_cli("call", "127.0.0.1:1", "Echo", *G, "-H", "no colon here")
    _clean(result, 2)


def test_bad_timeout() -> None:
    result = run_cli("call", "127.0.0.1:1", "Echo", *G, "--timeout", "soon")
    _clean(result, 2)
