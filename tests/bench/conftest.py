"""Bench fixtures: a second test server and a recording server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from tests.conftest import TEST_PROTO, TEST_PROTO_DIR, GrpcServer

SCHEMA = ("--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_DIR))
GRPC = ("--protocol", "grpc", "--workers", "1", *SCHEMA)


@pytest.fixture(scope="session")
def grpc_server_b(test_schema: Any) -> Iterator[GrpcServer]:
    """A second test service, for multi-target runs."""
    from tests.servers.grpc_test_service import start_server

    server, port = start_server(test_schema.pool, reflection=())
    try:
        yield GrpcServer(server, port)
    finally:
        server.stop(grace=None)


@dataclass
class Recorder:
    """What the recording server received: Echo requests and their metadata, Chat messages."""

    server: Any
    port: int
    echo: list[tuple[Any, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def messages(self) -> list[str]:
        with self.lock:
            return [request.message for request, _ in self.echo]

    def header(self, name: str) -> list[str]:
        with self.lock:
            return [metadata.get(name, "") for _, metadata in self.echo]

    def clear(self) -> None:
        with self.lock:
            self.echo.clear()


@pytest.fixture
def recorder(test_schema: Any) -> Iterator[Recorder]:
    """A TestService whose Echo records each request (and answers like the real one)."""
    from google.protobuf.message_factory import GetMessageClass

    def cls(name: str) -> Any:
        return GetMessageClass(test_schema.pool.FindMessageTypeByName(f"rpcctl.test.v1.{name}"))

    request_cls, response_cls = cls("EchoRequest"), cls("EchoResponse")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    recording = Recorder(server, 0)

    def echo(request: Any, context: grpc.ServicerContext) -> Any:
        metadata = {key: value for key, value in context.invocation_metadata() if isinstance(value, str)}
        with recording.lock:
            recording.echo.append((request, metadata))
        return response_cls(message=request.message)

    handler = grpc.method_handlers_generic_handler(
        "rpcctl.test.v1.TestService",
        {
            "Echo": grpc.unary_unary_rpc_method_handler(
                echo, request_cls.FromString, lambda m: m.SerializeToString()
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    recording.port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield recording
    finally:
        server.stop(grace=None)


@pytest.fixture(scope="module")
def rpcctl_server() -> Iterator[str]:
    """rpcctl's server with the test service, in a thread of its own; its URL."""
    from tests.support.rpcctl_test_service import rpcctl_test_service

    with rpcctl_test_service() as url:
        yield url
