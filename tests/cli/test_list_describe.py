"""`rpcctl list` and `rpcctl describe` over every schema source."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import TEST_PROTO, GrpcServer
from tests.support.cli import run_cli

G = ("--protocol", "grpc")


def test_list_bundled_without_target() -> None:
    result = run_cli("list")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["pkg.proto.runner.v1.RunnerService"]


def test_list_methods_of_bundled_service() -> None:
    result = run_cli("list", "RunnerService")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("pkg.proto.runner.v1.RunnerService.Ping")
    assert "unary" in lines[0]
    assert "pkg.proto.runner.v1.PingRequest → pkg.proto.runner.v1.PingResponse" in lines[0]


def test_list_via_reflection_hides_reflection(grpc_server: GrpcServer) -> None:
    result = run_cli("list", grpc_server.target, *G)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["rpcctl.test.v1.TestService"]
    everything = run_cli("list", grpc_server.target, *G, "--all")
    assert "grpc.reflection." in everything.stdout


def test_list_methods_with_stream_kinds(grpc_server: GrpcServer) -> None:
    result = run_cli("list", grpc_server.target, "rpcctl.test.v1.TestService", *G)
    assert result.exit_code == 0, result.stderr
    kinds = {line.split()[0].rsplit(".", 1)[1]: line.split()[1] for line in result.stdout.splitlines()}
    assert kinds["Echo"] == "unary"
    assert kinds["Count"] == "server"
    assert kinds["Sum"] == "client"
    assert kinds["Chat"] == "bidi"


def test_list_with_proto_file() -> None:
    result = run_cli("list", "--proto", str(TEST_PROTO))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["rpcctl.test.v1.TestService"]


def test_describe_service_as_proto_source(grpc_server: GrpcServer) -> None:
    result = run_cli("describe", grpc_server.target, "TestService", *G)
    assert result.exit_code == 0, result.stderr
    assert "service TestService" in result.stdout
    assert "rpc Chat(stream" in result.stdout
    assert "returns (stream" in result.stdout


def test_describe_message() -> None:
    result = run_cli("describe", "--proto", str(TEST_PROTO), "rpcctl.test.v1.Kitchen")
    assert result.exit_code == 0, result.stderr
    assert "message Kitchen" in result.stdout
    assert "map<string, int64> counts = 10;" in result.stdout
    assert "oneof choice" in result.stdout


def test_describe_enum() -> None:
    result = run_cli("describe", "--proto", str(TEST_PROTO), "Color")
    assert result.exit_code == 0, result.stderr
    assert "enum Color" in result.stdout
    assert "COLOR_GREEN = 2;" in result.stdout


def test_describe_template_of_a_method(grpc_server: GrpcServer) -> None:
    result = run_cli("describe", grpc_server.target, "Echo", "--template", *G)
    assert result.exit_code == 0, result.stderr
    template = json.loads(result.stdout)  # one indented document, made for editing
    assert set(template) == {"message", "delayMs", "kitchen"}
    kitchen = template["kitchen"]
    assert kitchen["big"] == "0"
    assert kitchen["color"] == "COLOR_UNSPECIFIED"
    assert isinstance(kitchen["inners"], list)
    assert isinstance(kitchen["counts"], dict)
    assert kitchen["at"].endswith("Z")


def test_describe_template_is_a_valid_request(grpc_server: GrpcServer) -> None:
    template = run_cli("describe", grpc_server.target, "Echo", "--template", *G).stdout
    result = run_cli("call", grpc_server.target, "Echo", *G, "-d", template)
    assert result.exit_code == 0, result.stderr


def test_describe_with_protoset_and_no_reflection(grpc_server_noreflect: GrpcServer, tmp_path: Path) -> None:
    protoset = tmp_path / "s.protoset"
    saved = run_cli(
        "list",
        grpc_server_noreflect.target,
        *G,
        "--proto",
        str(TEST_PROTO),
        "--export-protoset",
        str(protoset),
    )
    assert saved.exit_code == 0, saved.stderr
    result = run_cli("describe", grpc_server_noreflect.target, "Sum", *G, "--protoset", str(protoset))
    assert result.exit_code == 0, result.stderr
    assert "rpc Sum(stream" in result.stdout


def test_export_reflected_schema(grpc_server: GrpcServer, tmp_path: Path) -> None:
    protoset = tmp_path / "reflected.protoset"
    result = run_cli("list", grpc_server.target, *G, "--export-protoset", str(protoset))
    assert result.exit_code == 0, result.stderr
    again = run_cli("list", "--protoset", str(protoset))
    assert "rpcctl.test.v1.TestService" in again.stdout
