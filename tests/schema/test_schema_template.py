"""request_template(): JSON request skeletons."""

from __future__ import annotations

import asyncio
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor

from rpcctl.call import CallOptions, MethodInfo, unary
from rpcctl.client import open_channel
from rpcctl.codec import ProtoCodec
from rpcctl.schema.jsoncodec import message_from_json
from rpcctl.schema.registry import CallKind, Schema
from rpcctl.schema.sources import load_proto_files
from rpcctl.schema.template import request_template
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from tests.schema.roundtrip_corpus import corpus

SEND_ALL_TIMEOUT_S = 120.0


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


def test_null_value_is_null(tmp_path: Path) -> None:
    (tmp_path / "n.proto").write_text(
        'syntax = "proto3";\nimport "google/protobuf/struct.proto";\n'
        "message N { google.protobuf.NullValue nothing = 1; google.protobuf.Value any = 2; }\n"
    )
    schema = Schema(load_proto_files([tmp_path / "n.proto"]))
    desc = schema.find_symbol("N")
    template = request_template(desc)  # type: ignore[arg-type]
    assert template == {"nothing": None, "any": None}
    message_from_json(template, schema.message_class(desc), schema.pool)  # type: ignore[arg-type]


def test_proto2_fields_show_their_declared_default() -> None:
    # A template sent as it is must not change what the server reads: a proto2 field with
    # presence set to 0 is not the same as one left at its [default = 3].
    root = Path(__file__).resolve().parent.parent / "protos" / "proto2"
    schema = Schema(load_proto_files([root / "repro.proto", root / "everything.proto"], [root]))
    base = schema.find_symbol("ext.v1.Base")
    template = request_template(base)  # type: ignore[arg-type]
    assert template["retries"] == 3
    assert template["greeting"] == "hello"
    assert template["login"] == ""  # no declared default: the type's own
    msg = message_from_json(template, schema.message_class(base), schema.pool)  # type: ignore[arg-type]
    assert msg.retries == 3 and msg.greeting == "hello"  # type: ignore[attr-defined]
    outer = schema.find_symbol("everything.v1.Outer")
    shown = request_template(outer)  # type: ignore[arg-type]
    assert shown["header"]["text"] == "a\tb\u00e9"
    assert shown["header"]["item"] == [{"count": "18446744073709551615"}]
    assert shown["raw"] == "Af94"  # base64 of \x01\xffx
    assert shown["d"] == "-Infinity"
    assert shown["f"] == 1e20
    assert shown["level"] == "LEVEL_HIGH"
    parsed = message_from_json(shown, schema.message_class(outer), schema.pool)  # type: ignore[arg-type]
    assert parsed.raw == b"\x01\xffx"  # type: ignore[attr-defined]


def test_recursion_keeps_required_fields() -> None:
    root = Path(__file__).resolve().parents[1] / "protos" / "proto2"
    schema = Schema(load_proto_files([root / "everything.proto"], [root]))
    desc = schema.find_symbol("everything.v1.Outer")
    template = request_template(desc)  # type: ignore[arg-type]
    # Outer.child is an Outer again: cut short, but with its required id so it encodes.
    assert template["child"] == {"id": 0}
    assert template["header"] == {"text": "a\tb\u00e9", "item": [{"count": "18446744073709551615"}]}
    msg = message_from_json(template, schema.message_class(desc), schema.pool)  # type: ignore[arg-type]
    assert msg.IsInitialized()


def _messages(schema: Schema, name: str) -> list[Descriptor]:
    file = schema.pool.FindFileByName(name)
    found: list[Descriptor] = []
    todo = list(file.message_types_by_name.values())
    while todo:
        desc = todo.pop()
        if not desc.GetOptions().map_entry:
            found.append(desc)
        todo.extend(desc.nested_types)
    return found


class _TemplateSink(grpc.GenericRpcHandler):
    """A grpcio service that takes any method "/templates/<message>": it parses the request
    with its own class of that message and answers Empty, or INVALID_ARGUMENT when a
    required field is missing (grpcio parses without that check)."""

    def __init__(self) -> None:
        self.classes: dict[str, Any] = {}

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        cls = self.classes.get(details.method)  # type: ignore[attr-defined]
        if cls is None:
            return None

        def take(request: Any, context: grpc.ServicerContext) -> bytes:
            if not request.IsInitialized():
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, ",".join(request.FindInitializationErrors()))
            return b""

        return grpc.unary_unary_rpc_method_handler(take, cls.FromString, bytes)


async def _send_all(port: int, sink: _TemplateSink) -> int:
    settings = ChannelSettings(
        Target.parse(f"http://127.0.0.1:{port}"), protocol=RpcProtocol.GRPC, codec="proto"
    )
    channel = open_channel(settings)
    sent = 0
    try:
        for item in corpus():
            schema = Schema(load_proto_files([item.root / item.name], [item.root]))
            server_side = Schema(schema.files)  # the server's own pool and classes
            for desc in _messages(schema, item.name):
                msg = message_from_json(request_template(desc), schema.message_class(desc), schema.pool)
                path = f"/templates/{desc.full_name}"
                sink.classes[path] = server_side.message_class(server_side.find_symbol(desc.full_name))  # type: ignore[arg-type]
                answer = await unary(
                    channel, MethodInfo(path, CallKind.UNARY), ProtoCodec().encode(msg), CallOptions()
                )
                assert answer == b"", desc.full_name
                sent += 1
    finally:
        await channel.aclose()
    return sent


def test_template_is_a_valid_request_for_every_corpus_message() -> None:
    # Each template parses, keeps every required field, encodes, and a grpcio server reads it.
    sink = _TemplateSink()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((sink,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        sent = asyncio.run(asyncio.wait_for(_send_all(port, sink), SEND_ALL_TIMEOUT_S))
    finally:
        server.stop(None)
    assert sent > 200
