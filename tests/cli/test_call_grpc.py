"""`rpcctl call --protocol grpc` against a real grpcio server: every call kind, every option."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.conftest import TEST_PROTO, GrpcServer
from tests.support.cli import run_cli

G = ("--protocol", "grpc")


def test_unary_echo_with_reflection(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "-d", '{"message": "hi"}')
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "hi"


def test_piped_output_is_one_compact_json_per_line(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "TestService/Count", *G, "-d", '{"count": 3}')
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ['{"n":1}', '{"n":2}', '{"n":3}']


def test_tty_output_is_indented(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "-d", '{"message": "x"}', tty=True)
    assert result.exit_code == 0, result.stderr
    assert "\x1b[" in result.stdout  # coloured
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert plain.startswith('{\n  "message": "x",\n')
    assert json.loads(plain)["message"] == "x"


def test_client_stream_from_a_sequence_of_values(grpc_server: GrpcServer) -> None:
    data = '{"n": 1} {"n": 2}\n{"n": 39}'
    result = run_cli("call", grpc_server.target, "Sum", *G, "-d", data)
    assert result.exit_code == 0, result.stderr
    assert result.json == {"total": "42", "messages": 3}


def test_client_stream_without_data_is_an_empty_stream(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Sum", *G, "--emit-defaults")
    assert result.exit_code == 0, result.stderr
    assert result.json == {"total": "0", "messages": 0}


def test_bidi_from_stdin(grpc_server: GrpcServer) -> None:
    stdin = b'{"message": "a"}\n{"message": "b"}\n{"message": "c"}\n'
    result = run_cli("call", grpc_server.target, "Chat", *G, "-d", "@-", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    assert result.json_lines == [
        {"message": "a", "seq": 1},
        {"message": "b", "seq": 2},
        {"message": "c", "seq": 3},
    ]


def test_data_from_file(grpc_server: GrpcServer, tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "req.json"  # type: ignore[operator]
    path.write_text('{"message": "from a file"}')
    result = run_cli("call", grpc_server.target, "Echo", *G, "-d", f"@{path}")
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "from a file"


def test_kitchen_sink_round_trips(grpc_server: GrpcServer) -> None:
    kitchen = {
        "text": "t",
        "big": "9007199254740993",
        "ubig": "18446744073709551615",
        "blob": base64.b64encode(b"\x00\xff").decode(),
        "ratio": 0.5,
        "flag": True,
        "color": "COLOR_GREEN",
        "inner": {"name": "n", "values": [1, 2]},
        "inners": [{"name": "a"}],
        "counts": {"x": "7"},
        "byId": {"3": {"name": "three"}},
        "choiceText": "picked",
        "at": "2024-01-02T03:04:05Z",
        "took": "1.500s",
        "extra": {"k": [1, "two", None]},
        "maybe": "wrapped",
        "any": {"@type": "type.googleapis.com/rpcctl.test.v1.Inner", "name": "packed"},
        "tags": ["a", "b"],
    }
    request = json.dumps({"message": "k", "kitchen": kitchen})
    result = run_cli("call", grpc_server.target, "Echo", *G, "-d", request)
    assert result.exit_code == 0, result.stderr
    assert result.json["kitchen"] == kitchen


def test_metadata_is_sent_and_bin_values_are_base64(grpc_server: GrpcServer) -> None:
    raw = base64.b64encode(b"\x01\x02\x03").decode()
    result = run_cli(
        "call", grpc_server.target, "Echo", *G, "-H", "x-team: infra", "-H", f"x-trace-bin: {raw}"
    )
    assert result.exit_code == 0, result.stderr
    headers = result.json["headers"]
    assert "x-team: infra" in headers
    assert "x-trace-bin: AQID" in headers


def test_verbose_shows_headers_trailers_and_timings(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "-v", "-H", "x-a: b")
    assert result.exit_code == 0, result.stderr
    assert "x-a: b" in result.stderr
    assert "x-echo-initial: yes" in result.stderr
    assert "x-echo-trailer: done" in result.stderr
    assert "* time:" in result.stderr


def test_error_with_details_exits_64_plus_code(grpc_server: GrpcServer) -> None:
    request = '{"code": 5, "message": "no such runner", "withDetails": true}'
    result = run_cli("call", grpc_server.target, "Fail", *G, "-d", request)
    assert result.exit_code == 64 + 5
    assert "NOT_FOUND" in result.stderr
    assert "no such runner" in result.stderr
    assert "google.rpc.ErrorInfo" in result.stderr
    assert "TEST_FAILURE" in result.stderr
    assert "requested failure" in result.stderr
    assert "Traceback" not in result.stderr


def test_error_after_stream_messages(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Count", *G, "-d", '{"count": 2, "failCode": 10}')
    assert result.exit_code == 64 + 10
    assert result.stdout.splitlines() == ['{"n":1}', '{"n":2}']
    assert "ABORTED" in result.stderr


def test_deadline_exceeded(grpc_server: GrpcServer) -> None:
    request = '{"message": "slow", "delayMs": 2000}'
    result = run_cli("call", grpc_server.target, "Echo", *G, "--timeout", "100ms", "-d", request)
    assert result.exit_code == 64 + 4
    assert "DEADLINE_EXCEEDED" in result.stderr


def test_gzip_compression(grpc_server: GrpcServer) -> None:
    result = run_cli(
        "call",
        grpc_server.target,
        "Echo",
        *G,
        "--compress",
        "gzip",
        "-d",
        '{"message": "zz"}',
        "-v",
    )
    assert result.exit_code == 0, result.stderr
    assert result.json_lines[0]["message"] == "zz"
    assert "grpc-accept-encoding" in result.stderr or "x-echo-initial" in result.stderr


def test_max_msg_size_refuses_a_larger_response(grpc_server: GrpcServer) -> None:
    request = json.dumps({"message": "x" * 5000})
    result = run_cli(
        "call",
        grpc_server.target,
        "Echo",
        *G,
        "--proto",
        str(TEST_PROTO),
        "--max-msg-size",
        "1000",
        "-d",
        request,
    )
    assert result.exit_code == 64 + 8
    assert "RESOURCE_EXHAUSTED" in result.stderr


def test_text_format(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Count", *G, "-d", '{"count": 2}', "--format", "text")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "n: 1\n\nn: 2\n"


def test_emit_defaults(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "--emit-defaults")
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == ""
    assert result.json["seq"] == 0


def test_with_proto_and_no_reflection(grpc_server_noreflect: GrpcServer) -> None:
    result = run_cli(
        "call",
        grpc_server_noreflect.target,
        "Echo",
        *G,
        "--proto",
        str(TEST_PROTO),
        "-d",
        '{"message": "p"}',
    )
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "p"


def test_with_protoset(grpc_server_noreflect: GrpcServer, tmp_path: pytest.TempPathFactory) -> None:
    protoset = tmp_path / "test.protoset"  # type: ignore[operator]
    exported = run_cli("list", "--proto", str(TEST_PROTO), "--export-protoset", str(protoset))
    assert exported.exit_code == 0, exported.stderr
    result = run_cli(
        "call",
        grpc_server_noreflect.target,
        "Count",
        *G,
        "--protoset",
        str(protoset),
        "-d",
        '{"count": 1}',
    )
    assert result.exit_code == 0, result.stderr
    assert result.json == {"n": 1}


def test_v1alpha_only_reflection(grpc_server_v1alpha: GrpcServer) -> None:
    result = run_cli("call", grpc_server_v1alpha.target, "Echo", *G, "-d", '{"message": "old"}')
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "old"


def test_tls_with_cacert(grpc_tls_server: GrpcServer, certs: object) -> None:
    result = run_cli(
        "call",
        grpc_tls_server.target,
        "Echo",
        *G,
        "--cacert",
        str(certs.cert),
        "-d",
        '{"message": "s"}',  # type: ignore[attr-defined]
    )
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "s"


def test_tls_verification_is_on_by_default(grpc_tls_server: GrpcServer) -> None:
    result = run_cli("call", grpc_tls_server.target, "Echo", *G, "--connect-timeout", "3s")
    assert result.exit_code == 1
    assert "TLS" in result.stderr
    assert "Traceback" not in result.stderr


def test_tls_insecure(grpc_tls_server: GrpcServer) -> None:
    result = run_cli("call", grpc_tls_server.target, "Echo", *G, "--insecure", "-d", '{"message": "i"}')
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "i"


def test_unix_socket(test_schema: object, tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.servers.grpc_test_service import start_server

    sock = tmp_path_factory.mktemp("sock") / "rpc.sock"
    server, _ = start_server(test_schema.pool, address=f"unix:{sock}")  # type: ignore[attr-defined]
    try:
        result = run_cli("call", f"unix://{sock}", "Echo", *G, "-d", '{"message": "u"}')
    finally:
        server.stop(grace=None)
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "u"


def test_authority_override(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "--authority", "example.test")
    assert result.exit_code == 0, result.stderr
