"""proto2 services on a real grpcio server with reflection: ext.v1.Ext (tests/protos/proto2)
and the spex hello.Hello (tests/protos/spex), built from descriptors, no generated code."""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message_factory import GetMessageClass

from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import load_proto_files

PROTOS = Path(__file__).resolve().parents[1] / "protos"
PROTO2_ROOT = PROTOS / "proto2"
SPEX_ROOT = PROTOS / "spex"


def proto2_schema() -> Schema:
    """repro.proto (ext.v1), more.proto (more extensions of ext.v1.Base, in a file no service
    file imports) and hello.proto (spex) in one schema."""
    files = [
        *load_proto_files([PROTO2_ROOT / "repro.proto", PROTO2_ROOT / "more.proto"], [PROTO2_ROOT]),
        *load_proto_files([SPEX_ROOT / "hello.proto"], [SPEX_ROOT]),
    ]
    return Schema(files)


def _handlers(pool: Any) -> list[grpc.GenericRpcHandler]:
    base = GetMessageClass(pool.FindMessageTypeByName("ext.v1.Base"))
    note = pool.FindExtensionByName("ext.v1.note")
    marks = pool.FindExtensionByName("ext.v1.marks")
    label = pool.FindExtensionByName("more.v1.label")
    request = GetMessageClass(pool.FindMessageTypeByName("http.Request"))
    response = GetMessageClass(pool.FindMessageTypeByName("http.Response"))

    def ext_echo(req: Any, context: grpc.ServicerContext) -> Any:
        # The request back, with what the server read of its extensions and defaults.
        out = base()
        out.CopyFrom(req)
        out.Extensions[note] = f"seen {req.Extensions[note]!r} retries={req.retries} legacy.x={req.legacy.x}"
        out.Extensions[marks].append(len(req.Extensions[marks]))
        if req.user_name == "more":
            out.Extensions[label] = "from the server"
        return out

    def hello_echo(req: Any, context: grpc.ServicerContext) -> Any:
        return response(message=f"{req.message}|{','.join(f'{k}={v}' for k, v in sorted(req.query.items()))}")

    def ser(message: Any) -> bytes:
        return bytes(message.SerializePartialToString())

    def unary(fn: Callable[[Any, grpc.ServicerContext], Any], cls: Any) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(fn, cls.FromString, ser)

    return [
        grpc.method_handlers_generic_handler("ext.v1.Ext", {"Echo": unary(ext_echo, base)}),
        grpc.method_handlers_generic_handler("hello.Hello", {"Echo": unary(hello_echo, request)}),
    ]


def start_proto2_server(schema: Schema, reflection: str = "v1") -> tuple[grpc.Server, int]:
    """Serve ext.v1.Ext and hello.Hello with reflection `v1` or `v1alpha` on 127.0.0.1:0."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers(tuple(_handlers(schema.pool)))
    names = ("ext.v1.Ext", "hello.Hello")
    if reflection == "v1alpha":
        from grpc_reflection.v1alpha import reflection as v1alpha

        v1alpha.enable_server_reflection((*names, v1alpha.SERVICE_NAME), server, pool=schema.pool)
    else:
        from tests.support.reflection_v1 import add_v1_reflection

        add_v1_reflection(server, names, schema.pool)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port
