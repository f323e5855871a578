"""proto2 against a grpcio server whose schema comes by reflection (issue 11 §3, §4, §5):
required fields, extensions in JSON, groups, defaults; the spex service described, templated
and called."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import load_proto_files
from tests.schema.roundtrip_corpus import canonical
from tests.servers.grpc_proto2_services import PROTO2_ROOT, proto2_schema, start_proto2_server
from tests.support.cli import run_cli

G = ("--protocol", "grpc")
LOCAL = ("--proto", str(PROTO2_ROOT / "repro.proto"), "-I", str(PROTO2_ROOT))


@pytest.fixture(scope="module", params=["v1", "v1alpha"])
def target(request: pytest.FixtureRequest) -> Iterator[str]:
    """A grpcio server serving ext.v1.Ext and hello.Hello with reflection v1 or v1alpha."""
    server, port = start_proto2_server(proto2_schema(), reflection=request.param)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


def test_missing_required_field_is_bad_input_over_native_grpc(target: str) -> None:
    # Was: "internal error: EncodeError: Message ext.v1.Base is missing required fields: id", exit 1.
    result = run_cli("call", target, "ext.v1.Ext/Echo", *G, "--no-cache", "-d", '{"login": "u"}')
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[0] == "error: ext.v1.Base: missing required field id"
    assert "Traceback" not in result.stderr


def test_missing_nested_required_field_is_named_with_its_path(target: str) -> None:
    result = run_cli("call", target, "ext.v1.Ext/Echo", *G, "--no-cache", "-d", '{"id": "a", "inner": {}}')
    assert result.exit_code == 2
    assert "ext.v1.Base: missing required field inner.code" in result.stderr


@pytest.mark.parametrize(
    "protocol",
    [
        ("--protocol", "connect", "--codec", "json"),
        ("--protocol", "connect", "--codec", "proto"),
        ("--protocol", "grpc-web"),
    ],
    ids=["connect-json", "connect-proto", "grpc-web"],
)
def test_missing_required_field_is_bad_input_on_every_protocol(
    target: str, protocol: tuple[str, ...]
) -> None:
    # Was: the Connect JSON codec sent the message anyway. Refused before anything is sent.
    for data in ('{"login": "u"}', ""):
        args = ("-d", data) if data else ()
        result = run_cli("call", target, "ext.v1.Ext/Echo", *protocol, *LOCAL, *args)
        assert result.exit_code == 2, (data, result.stderr)
        assert "ext.v1.Base: missing required field id" in result.stderr


def test_extensions_groups_and_defaults_both_ways(target: str) -> None:
    request = {
        "id": "a",
        "login": "u",
        "legacy": {"x": 5},
        "[ext.v1.note]": "hi",
        "[ext.v1.marks]": [1, 2],
    }
    result = run_cli("call", target, "ext.v1.Ext/Echo", *G, "--no-cache", "-d", json.dumps(request))
    assert result.exit_code == 0, result.stderr
    # The server read the extensions and the group, and `retries` at its proto2 default of 3.
    assert result.json == {
        "id": "a",
        "login": "u",
        "legacy": {"x": 5},
        "[ext.v1.note]": "seen 'hi' retries=3 legacy.x=5",
        "[ext.v1.marks]": [1, 2, 2],
    }


def test_unknown_extension_is_named(target: str) -> None:
    result = run_cli(
        "call", target, "ext.v1.Ext/Echo", *G, "--no-cache", "-d", '{"id": "a", "[ext.v1.nope]": 1}'
    )
    assert result.exit_code == 2
    assert "ext.v1.nope" in result.stderr


def test_describe_by_reflection_shows_options_groups_and_extensions(target: str) -> None:
    result = run_cli("describe", target, "ext.v1.Base", *G, "--no-cache")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert '  optional string user_name = 1 [json_name = "login", (ext.v1.sensitive) = true];' in lines
    assert "  optional group Legacy = 2 {" in lines
    assert "  optional int32 retries = 5 [default = 3];" in lines
    assert "  extensions 100 to 199;" in lines
    method = run_cli("describe", target, "ext.v1.Ext.Echo", *G, "--no-cache")
    assert '  option (ext.v1.audit) = "yes";' in method.stdout.splitlines()


def test_spex_service_describes_templates_and_calls(target: str) -> None:
    described = run_cli("describe", target, "hello.Hello", *G, "--no-cache")
    assert described.exit_code == 0, described.stderr
    assert described.stdout.splitlines() == [
        "service Hello {",
        '  option (service.service) = { backend: HTTP servicename: "seller-x" };',
        "  rpc Echo(.http.Request) returns (.http.Response) {",
        '    option (service.http) = { get: "/echo/:message" };',
        "  }",
        "}",
    ]
    template = run_cli("describe", target, "hello.Hello/Echo", *G, "--no-cache", "--template")
    assert template.exit_code == 0, template.stderr
    assert json.loads(template.stdout) == {"message": "", "query": {"key": ""}}
    called = run_cli("call", target, "hello.Hello/Echo", *G, "--no-cache", "-d", template.stdout)
    assert called.exit_code == 0, called.stderr
    assert called.json == {"message": "|key="}


def test_proto2_fields_set_to_their_default_keep_presence_both_ways(target: str) -> None:
    # proto2 fields have presence: a field set to its default value is sent and shown.
    data = '{"id": "a", "retries": 3, "greeting": "hello"}'
    result = run_cli("call", target, "ext.v1.Ext/Echo", *G, "--no-cache", "-d", data)
    assert result.exit_code == 0, result.stderr
    assert result.json["retries"] == 3
    assert result.json["greeting"] == "hello"


def test_emit_defaults_leaves_unset_fields_with_presence_out(target: str) -> None:
    # The server leaves login, retries, greeting, legacy and inner unset. The proto3 JSON
    # mapping's option ("always emit fields without presence", protobuf.dev/programming-guides/
    # json, JSON options) covers fields without presence only; a proto2 optional field has
    # presence, and printing its [default = 3] would make "not sent" look like "sent 3".
    # (grpcurl prints the defaults, buf curl prints null.) Repeated extensions are shown.
    result = run_cli(
        "call", target, "ext.v1.Ext/Echo", *G, "--no-cache", "--emit-defaults", "-d", '{"id": "a"}'
    )
    assert result.exit_code == 0, result.stderr
    assert result.json == {"id": "a", "[ext.v1.note]": "seen '' retries=3 legacy.x=0", "[ext.v1.marks]": [0]}
    sent = '{"id": "a", "retries": 3, "greeting": "hello"}'
    explicit = run_cli("call", target, "ext.v1.Ext/Echo", *G, "--no-cache", "--emit-defaults", "-d", sent)
    assert explicit.json["retries"] == 3 and explicit.json["greeting"] == "hello"  # set: shown


def test_a_reflected_file_described_whole_compiles_back_to_the_servers_descriptor(
    target: str, tmp_path: Path
) -> None:
    result = run_cli("describe", target, "repro.proto", *G, "--no-cache")
    assert result.exit_code == 0, result.stderr
    (tmp_path / "repro.proto").write_text(result.stdout)
    again = Schema(load_proto_files([tmp_path / "repro.proto"], [tmp_path]))
    assert canonical(again, "repro.proto") == canonical(proto2_schema(), "repro.proto")


def test_extensions_declared_in_a_file_no_service_imports_are_found_by_reflection(target: str) -> None:
    # more.proto extends ext.v1.Base but nothing the service uses imports it: reflection is
    # asked for the extensions of ext.v1.Base (all_extension_numbers_of_type, then
    # file_containing_extension), as grpcurl does. Before, the answer's [more.v1.label] was
    # dropped and a request with [more.v1.tag] was "unknown field".
    data = '{"id": "a", "login": "more", "[more.v1.tag]": {"text": "t"}}'
    result = run_cli("call", target, "ext.v1.Ext/Echo", *G, "--no-cache", "--emit-defaults", "-d", data)
    assert result.exit_code == 0, result.stderr
    assert result.json["[more.v1.label]"] == "from the server"
    assert result.json["[more.v1.tag]"] == {"text": "t"}  # weight [default = 1] is unset
