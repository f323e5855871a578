"""Anys whose types the pool lacks: printed raw (grpcurl's form), the rest as usual; the resolver."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from google.protobuf.message_factory import GetMessageClass

from rpcctl.errors import SchemaError
from rpcctl.schema.anys import message_to_dict, raw_any
from rpcctl.schema.registry import Schema
from rpcctl.schema.resolver import TypeResolver
from rpcctl.schema.sources import load_proto_files
from tests.schema.reflecting_server import DEMO_PROTO, PROTO_ROOT, URL, server_schema


@pytest.fixture(scope="module")
def full() -> Schema:
    return server_schema()


def _demo_only() -> Schema:
    return Schema(load_proto_files([DEMO_PROTO], [PROTO_ROOT]))


def _cls(schema: Schema, name: str) -> Any:
    return GetMessageClass(schema.pool.FindMessageTypeByName(name))


def _reply(schema: Schema) -> Any:
    """A demo.Req as `full` builds it, read back through `schema`'s classes."""
    full = server_schema()
    any_cls, secret, deeper = (_cls(full, n) for n in ("google.protobuf.Any", "demo.Secret", "demo.Deeper"))
    inner = any_cls()
    inner.Pack(deeper(level=2))
    packed = any_cls()
    packed.Pack(secret(code="c", inner=inner))
    reply = _cls(full, "demo.Req")(mode="m")
    reply.item.CopyFrom(packed)
    reply.items.append(packed)
    reply.by_name["k"].CopyFrom(packed)
    return _cls(schema, "demo.Req").FromString(reply.SerializeToString()), packed.value


def test_known_types_render_as_proto3_json(full: Schema) -> None:
    message, _ = _reply(full)
    value, raw = message_to_dict(message, False, full.pool)
    secret = {"@type": URL + "demo.Secret", "code": "c", "inner": {"@type": URL + "demo.Deeper", "level": 2}}
    assert value == {"item": secret, "mode": "m", "items": [secret], "byName": {"k": secret}}
    assert raw == []


def test_unknown_types_are_raw_everywhere_the_rest_is_not() -> None:
    schema = _demo_only()
    message, packed = _reply(schema)
    value, raw = message_to_dict(message, True, schema.pool)
    shown = raw_any(URL + "demo.Secret", packed)
    assert shown == {"@type": URL + "demo.Secret", "@value": base64.b64encode(packed).decode()}
    assert value == {"item": shown, "mode": "m", "items": [shown], "byName": {"k": shown}}
    assert raw == [URL + "demo.Secret"]


def test_an_unknown_any_inside_a_known_one(full: Schema) -> None:
    # Secret known, Deeper not: a pool with secret.proto and demo.proto only, Deeper removed.
    files = [FileDescriptorProto.FromString(f.SerializeToString()) for f in full.files]
    for fd in files:
        if fd.name.endswith("secret.proto"):
            del fd.message_type[1]  # demo.Deeper
    partial = Schema(files)
    message, _ = _reply(partial)
    value, raw = message_to_dict(message, False, partial.pool)
    assert value["item"]["code"] == "c"
    assert value["item"]["inner"]["@type"] == URL + "demo.Deeper"
    assert set(value["item"]["inner"]) == {"@type", "@value"}
    assert raw == [URL + "demo.Deeper"]


class Files:
    """A TypeSource over a fixed set of files, counting what it is asked."""

    def __init__(self, files: list[FileDescriptorProto]) -> None:
        self.files = {fd.name: fd for fd in files}
        self.asked: list[str] = []

    async def files_for_symbol(self, name: str, known: set[str]) -> list[FileDescriptorProto]:
        self.asked.append(name)
        schema = Schema(list(self.files.values()))
        try:
            file = schema.pool.FindFileContainingSymbol(name)
        except KeyError:
            raise SchemaError(f"{name}: not found") from None
        return [
            self.files[file.name],
            *(self.files[d.name] for d in file.dependencies if d.name not in known),
        ]


def test_the_resolver_asks_once_per_type_and_adds_to_the_pool(full: Schema) -> None:
    schema = _demo_only()
    source = Files(list(full.files))
    resolver = TypeResolver(schema, source)
    message, _ = _reply(schema)
    asyncio.run(resolver.resolve_message(message))
    assert source.asked == ["demo.Secret"]  # Deeper is in the same file
    value, raw = message_to_dict(message, False, schema.pool)
    assert value["item"]["inner"] == {"@type": URL + "demo.Deeper", "level": 2}
    assert raw == []
    assert not asyncio.run(resolver.resolve("demo.Nowhere"))
    assert not asyncio.run(resolver.resolve("demo.Nowhere"))
    assert source.asked == ["demo.Secret", "demo.Nowhere"]
    assert resolver.unresolved == {"demo.Nowhere": "demo.Nowhere: not found"}


def test_well_known_types_need_no_source() -> None:
    resolver = TypeResolver(_demo_only())
    assert asyncio.run(resolver.resolve("google.rpc.ErrorInfo"))
    assert asyncio.run(resolver.resolve("google.protobuf.Duration"))
    assert not asyncio.run(resolver.resolve("demo.Secret"))


def test_request_type_urls_at_any_depth(full: Schema) -> None:
    source = Files(list(full.files))
    resolver = TypeResolver(_demo_only(), source)
    nested = {"items": [{"@type": URL + "demo.Secret", "inner": {"@type": "example.com/demo.Deeper"}}]}
    asyncio.run(resolver.resolve_json(nested))
    assert resolver.knows("demo.Secret") and resolver.knows("demo.Deeper")
    assert len(source.asked) == 1  # one file holds both
