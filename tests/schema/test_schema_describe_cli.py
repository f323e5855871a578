"""`rpcctl describe` of a whole file, and of proto2 symbols, through the CLI."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli

PROTO2_ROOT = Path(__file__).resolve().parents[1] / "protos" / "proto2"
LOCAL = ("--proto", str(PROTO2_ROOT / "repro.proto"), "-I", str(PROTO2_ROOT))


def test_describe_a_file_prints_it_whole() -> None:
    result = run_cli("describe", *LOCAL, "repro.proto")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        'syntax = "proto2";',
        "",
        "package ext.v1;",
        "",
        'import "google/protobuf/descriptor.proto";',
    ]
    assert "extend .google.protobuf.MethodOptions {" in lines
    assert "service Ext {" in lines
    assert '    option (ext.v1.audit) = "yes";' in lines


def test_describe_an_unknown_file_is_an_unknown_symbol() -> None:
    result = run_cli("describe", *LOCAL, "nope.proto")
    assert result.exit_code == 2
    assert "nope.proto" in result.stderr


def test_a_host_without_a_port_is_taken_for_a_name_and_the_error_says_so() -> None:
    # `rpcctl list localhost`: one argument without a colon is a SERVICE; say how to give a server.
    for command in (("list", "localhost"), ("describe", "127.0.0.1")):
        result = run_cli(*command)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.endswith(f"; to ask a server, give TARGET with its port: {command[1]}:PORT\n")
    plain = run_cli("describe", "Nowhere")
    assert plain.stderr == "error: unknown symbol 'Nowhere'\n"


def test_list_of_a_schema_without_services_says_so_on_stderr() -> None:
    # grpcurl prints "(No services)" on stdout; rpcctl keeps stdout for names (it is piped).
    secret = Path(__file__).resolve().parent / "protos" / "demo" / "secret.proto"
    result = run_cli("list", "--proto", str(secret), "-I", str(secret.parent.parent))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == "no services in the schema files\n"


def test_describe_a_field_prints_its_line() -> None:
    # grpcurl describes fields too ("… is a field:"); rpcctl prints the field as the file has it.
    test_proto = Path(__file__).resolve().parents[1] / "protos"
    local = ("--proto", str(test_proto / "rpcctl" / "test" / "v1" / "test.proto"), "-I", str(test_proto))
    for name, line in (
        ("rpcctl.test.v1.Kitchen.text", "string text = 1;"),
        ("rpcctl.test.v1.Kitchen.counts", "map<string, int64> counts = 10;"),
        ("rpcctl.test.v1.Kitchen.choice_text", "string choice_text = 12;"),
    ):
        result = run_cli("describe", *local, name)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == line + "\n"
    proto2 = run_cli("describe", *LOCAL, "ext.v1.Base.user_name")
    assert (
        proto2.stdout == 'optional string user_name = 1 [json_name = "login", (ext.v1.sensitive) = true];\n'
    )
    template = run_cli("describe", *local, "rpcctl.test.v1.Kitchen.text", "--template")
    assert template.exit_code == 2
    assert template.stderr == (
        "error: --template needs a message or a method, and rpcctl.test.v1.Kitchen.text is neither\n"
    )
