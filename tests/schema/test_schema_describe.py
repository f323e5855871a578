"""describe(): proto source text for services, methods, messages and enums."""

from __future__ import annotations

from pathlib import Path

from rpcctl.schema.describe import describe
from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import load_proto_files


def test_service(schema: Schema) -> None:
    text = describe(schema.find_symbol("TestService"))
    lines = text.splitlines()
    assert lines[0] == "service TestService {"
    assert lines[-1] == "}"
    assert "  // Echo the message, the headers and the kitchen sink." in lines
    assert "  rpc Echo(.rpcctl.test.v1.EchoRequest) returns (.rpcctl.test.v1.EchoResponse);" in lines
    assert (
        "  rpc Count(.rpcctl.test.v1.CountRequest) returns (stream .rpcctl.test.v1.CountResponse);" in lines
    )
    assert "  rpc Sum(stream .rpcctl.test.v1.CountResponse) returns (.rpcctl.test.v1.SumResponse);" in lines
    assert (
        "  rpc Chat(stream .rpcctl.test.v1.EchoRequest) returns (stream .rpcctl.test.v1.EchoResponse);"
        in lines
    )
    lookup = lines.index("  rpc Lookup(.rpcctl.test.v1.EchoRequest) returns (.rpcctl.test.v1.EchoResponse) {")
    assert lines[lookup + 1 : lookup + 3] == ["    option idempotency_level = NO_SIDE_EFFECTS;", "  }"]


def test_method(schema: Schema) -> None:
    assert describe(schema.find_method("Fail")) == (
        "// Always fails with the requested status.\n"
        "rpc Fail(.rpcctl.test.v1.FailRequest) returns (.google.protobuf.Empty);\n"
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
