"""describe(): proto source text for services, methods, messages and enums."""

from __future__ import annotations

from pathlib import Path

from rpcctl.schema.describe import describe, describe_file
from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import load_proto_files


def test_service(schema: Schema) -> None:
    text = describe(schema.find_symbol("TestService"))
    lines = text.splitlines()
    assert lines[0] == "service TestService {"
    assert lines[-1] == "}"
    assert "  // Echo the message, the headers and the kitchen sink." in lines
    assert "  rpc Echo(.rpcctl.test.v1.EchoRequest) returns (.rpcctl.test.v1.EchoResponse) {}" in lines
    assert (
        "  rpc Count(.rpcctl.test.v1.CountRequest) returns (stream .rpcctl.test.v1.CountResponse) {}" in lines
    )
    assert "  rpc Sum(stream .rpcctl.test.v1.CountResponse) returns (.rpcctl.test.v1.SumResponse) {}" in lines
    assert (
        "  rpc Chat(stream .rpcctl.test.v1.EchoRequest) returns (stream .rpcctl.test.v1.EchoResponse) {}"
        in lines
    )
    lookup = lines.index("  rpc Lookup(.rpcctl.test.v1.EchoRequest) returns (.rpcctl.test.v1.EchoResponse) {")
    assert lines[lookup + 1 : lookup + 3] == ["    option idempotency_level = NO_SIDE_EFFECTS;", "  }"]


def test_method(schema: Schema) -> None:
    assert describe(schema.find_method("Fail")) == (
        "// Always fails with the requested status.\n"
        "rpc Fail(.rpcctl.test.v1.FailRequest) returns (.google.protobuf.Empty) {}\n"
    )


def test_message_with_maps_oneofs_and_wkts(schema: Schema) -> None:
    text = describe(schema.find_symbol("Kitchen"))
    assert text.startswith("// Everything the JSON mapping treats specially.\nmessage Kitchen {\n")
    for line in [
        "  string text = 1;",
        "  int64 big = 2;",
        "  .rpcctl.test.v1.Color color = 7;",
        "  repeated .rpcctl.test.v1.Inner inners = 9;",
        "  map<string, int64> counts = 10;",
        "  map<int32, .rpcctl.test.v1.Inner> by_id = 11;",
        "  oneof choice {",
        "    string choice_text = 12;",
        "    .rpcctl.test.v1.Inner choice_inner = 13;",
        "  .google.protobuf.Timestamp at = 14;",
        "  repeated string tags = 19;",
    ]:
        assert line in text.splitlines(), line
    assert "CountsEntry" not in text
    assert text.endswith("}\n")


def test_enum(schema: Schema) -> None:
    assert describe(schema.find_symbol("Color")) == (
        "enum Color {\n  COLOR_UNSPECIFIED = 0;\n  COLOR_RED = 1;\n  COLOR_GREEN = 2;\n}\n"
    )


def test_nested_types_optional_and_options(tmp_path: Path) -> None:
    (tmp_path / "n.proto").write_text(
        'syntax = "proto3";\n'
        "package n;\n"
        "message Outer {\n"
        "  optional string maybe = 1; // trailing note\n"
        "  Inner inner = 2 [deprecated = true];\n"
        "  message Inner {\n"
        "    Kind kind = 1;\n"
        "    enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }\n"
        "  }\n"
        "  reserved 5, 8 to 10;\n"
        '  reserved "gone";\n'
        "}\n"
        "service S { option deprecated = true;\n"
        "  rpc M(Outer) returns (Outer) { option deprecated = true; }\n"
        "}\n"
    )
    schema = Schema(load_proto_files([tmp_path / "n.proto"]))
    outer = describe(schema.find_symbol("Outer")).splitlines()
    assert "  optional string maybe = 1; // trailing note" in outer
    assert "  .n.Outer.Inner inner = 2 [deprecated = true];" in outer
    assert "  message Inner {" in outer
    assert "    enum Kind {" in outer
    assert "      KIND_A = 1;" in outer
    assert "  reserved 5, 8 to 10;" in outer
    assert '  reserved "gone";' in outer
    assert "oneof" not in "\n".join(outer)
    inner_enum = describe(schema.find_symbol("Outer.Inner.Kind"))
    assert inner_enum.startswith("enum Kind {\n")
    service = describe(schema.find_symbol("S")).splitlines()
    assert service[1] == "  option deprecated = true;"
    assert "    option deprecated = true;" in service


def test_descriptor_without_source_info(schema: Schema) -> None:
    # Files that came from the runtime carry no comments; the text is still complete.
    text = describe(schema.find_symbol("google.protobuf.Duration"))
    assert "message Duration {" in text
    assert "  int64 seconds = 1;" in text
    assert "  int32 nanos = 2;" in text


PROTO2_ROOT = Path(__file__).resolve().parents[1] / "protos" / "proto2"
SPEX_ROOT = Path(__file__).resolve().parents[1] / "protos" / "spex"


def test_issue_repro_options_groups_and_extensions() -> None:
    # issue 11 §4: the field lost json_name and (sensitive), the group became a field plus a
    # message, and the rpc lost its (audit) option.
    schema = Schema(load_proto_files([PROTO2_ROOT / "repro.proto"], [PROTO2_ROOT]))
    base = describe(schema.find_symbol("ext.v1.Base")).splitlines()
    assert '  optional string user_name = 1 [json_name = "login", (ext.v1.sensitive) = true];' in base
    assert base[
        base.index("  optional group Legacy = 2 {") + 1 : base.index("  optional group Legacy = 2 {") + 3
    ] == [
        "    optional int32 x = 3;",
        "  }",
    ]
    assert "message Legacy" not in "\n".join(base)
    assert "  required string id = 4;" in base
    assert "  optional int32 retries = 5 [default = 3];" in base
    assert '  optional string greeting = 6 [default = "hello"];' in base
    assert "  extensions 100 to 199;" in base
    assert describe(schema.find_method("ext.v1.Ext/Echo")) == (
        'rpc Echo(.ext.v1.Base) returns (.ext.v1.Base) {\n  option (ext.v1.audit) = "yes";\n}\n'
    )
    text = describe_file(schema.pool.FindFileByName("repro.proto")).splitlines()
    assert text[0] == 'syntax = "proto2";'
    assert 'import "google/protobuf/descriptor.proto";' in text
    at = text.index("extend .google.protobuf.FieldOptions {")
    assert text[at + 1 : at + 3] == ["  optional bool sensitive = 50001;", "}"]
    at = text.index("extend .ext.v1.Base {")
    assert text[at + 1 : at + 4] == ["  optional string note = 100;", "  repeated int32 marks = 101;", "}"]


def test_spex_service_options_in_text_format() -> None:
    schema = Schema(load_proto_files([SPEX_ROOT / "hello.proto"], [SPEX_ROOT]))
    assert describe(schema.find_symbol("hello.Hello")) == (
        "service Hello {\n"
        '  option (service.service) = { backend: HTTP servicename: "seller-x" };\n'
        "  // Echo the message back.\n"
        "  rpc Echo(.http.Request) returns (.http.Response) {\n"
        '    option (service.http) = { get: "/echo/:message" };\n'
        "  }\n"
        "}\n"
    )


def test_option_name_shadowed_by_a_nearer_package_gets_a_leading_dot(tmp_path: Path) -> None:
    # In package a.opts, `(opts.flag)` would look for a.opts.flag first (proto name resolution).
    (tmp_path / "o.proto").write_text(
        'syntax = "proto3";\npackage opts;\nimport "google/protobuf/descriptor.proto";\n'
        "extend google.protobuf.MessageOptions { bool flag = 50100; }\n"
    )
    (tmp_path / "a.proto").write_text(
        'syntax = "proto3";\npackage a.opts;\nimport "o.proto";\nmessage M { option (.opts.flag) = true; }\n'
    )
    schema = Schema(load_proto_files([tmp_path / "a.proto"], [tmp_path]))
    assert describe(schema.find_symbol("a.opts.M")) == "message M {\n  option (.opts.flag) = true;\n}\n"


def test_editions_features_and_float_options() -> None:
    schema = Schema(load_proto_files([PROTO2_ROOT / "editions.proto"], [PROTO2_ROOT]))
    text = describe_file(schema.pool.FindFileByName("editions.proto")).splitlines()
    assert text[0] == 'edition = "2023";'
    assert "option features.field_presence = IMPLICIT;" in text
    assert "option features.(pb.cpp).string_type = VIEW;" in text
    assert "  int32 a = 1 [features.field_presence = LEGACY_REQUIRED];" in text
    assert "  reserved gone;" in text
    schema = Schema(load_proto_files([PROTO2_ROOT / "everything.proto"], [PROTO2_ROOT]))
    outer = describe(schema.find_symbol("everything.v1.Outer"))
    assert "    (everything.v1.field_weight) = 0.1\n  ];" in outer
    assert "  option (everything.v1.msg_ratio) = nan;" in outer
    assert "  optional double d = 7 [default = -inf];" in outer
    assert "    group Pick = 4 {" in outer
    assert "  extensions 100 to 199 [(everything.v1.range_tag) = 9];" in outer


def test_hostile_descriptor_text_cannot_reach_the_terminal() -> None:
    # A reflection answer or protoset is built by someone else: comments and bytes defaults are
    # free text there. Control characters come out escaped, quotes cannot end the literal.
    from google.protobuf import descriptor_pb2 as pb

    fd = pb.FileDescriptorProto(name="h.proto", package="h", syntax="proto2")
    msg = fd.message_type.add(name="M")
    msg.field.add(
        name="b",
        number=1,
        type=pb.FieldDescriptorProto.TYPE_BYTES,
        label=pb.FieldDescriptorProto.LABEL_OPTIONAL,
        default_value='x"\x1b[2J',
    )
    loc = fd.source_code_info.location.add(path=[4, 0], span=[0, 0, 1])
    loc.leading_comments = " evil \x1b]0;title\x07 here\n"
    loc.trailing_comments = "\x9b31m"
    schema = Schema([fd])  # kept alive: the schema remembers the source info
    text = describe(schema.find_symbol("h.M"))
    assert text == (
        "// evil \\x1b]0;title\\x07 here\n"
        "message M { // \\x9b31m\n"
        '  optional bytes b = 1 [default = "x\\"\\033[2J"];\n'
        "}\n"
    )
