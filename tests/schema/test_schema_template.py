"""request_template(): JSON request skeletons."""

from __future__ import annotations

from pathlib import Path

from rpcctl.schema.jsoncodec import message_from_json
from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import load_proto_files
from rpcctl.schema.template import request_template


def test_kitchen_template(schema: Schema) -> None:
    desc = schema.find_symbol("Kitchen")
    template = request_template(desc)  # type: ignore[arg-type]
    assert template == {
        "text": "",
        "big": "0",
        "ubig": "0",
        "blob": "",
        "ratio": 0,
        "flag": False,
        "color": "COLOR_UNSPECIFIED",
        "inner": {"name": "", "values": [0]},
        "inners": [{"name": "", "values": [0]}],
        "counts": {"key": "0"},
        "byId": {"0": {"name": "", "values": [0]}},
        "choiceText": "",
        "at": "1970-01-01T00:00:00Z",
        "took": "0s",
        "extra": {},
        "maybe": "",
        "any": {},
        "tags": [""],
    }
    # Only the first member of the oneof, so that the skeleton stays a valid request.
    assert "choiceInner" not in template


def test_template_is_a_valid_request(schema: Schema) -> None:
    desc = schema.find_symbol("EchoRequest")
    template = request_template(desc)  # type: ignore[arg-type]
    cls = schema.message_class(desc)  # type: ignore[arg-type]
    msg = message_from_json(template, cls, schema.pool)
    assert msg.kitchen.counts["key"] == 0  # type: ignore[attr-defined]


def test_recursive_and_optional_fields(tmp_path: Path) -> None:
    (tmp_path / "r.proto").write_text(
        'syntax = "proto3";\n'
        'import "google/protobuf/wrappers.proto";\n'
        'import "google/protobuf/field_mask.proto";\n'
        "message Node {\n"
        "  string name = 1;\n"
        "  Node parent = 2;\n"
        "  repeated Node children = 3;\n"
        "  optional int32 weight = 4;\n"
        "  optional sint64 big = 5;\n"
        "  google.protobuf.Int64Value wrapped = 6;\n"
        "  google.protobuf.FieldMask mask = 7;\n"
        "  map<bool, Node> flags = 8;\n"
        "}\n"
    )
    schema = Schema(load_proto_files([tmp_path / "r.proto"]))
    template = request_template(schema.find_symbol("Node"))  # type: ignore[arg-type]
    assert template == {
        "name": "",
        "parent": {},
        "children": [{}],
        "weight": 0,
        "big": "0",
        "wrapped": "0",
        "mask": "",
        "flags": {"false": {}},
    }
