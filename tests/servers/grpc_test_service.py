"""rpcctl.test.v1.TestService on a real grpcio server, built from descriptors (no generated code)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.message_factory import GetMessageClass
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

SERVICE = "rpcctl.test.v1.TestService"


class TestServiceImpl:
    """The behaviour documented in tests/protos/rpcctl/test/v1/test.proto."""

    def __init__(self, pool: Any) -> None:
        def cls(name: str) -> Any:
            return GetMessageClass(pool.FindMessageTypeByName(f"rpcctl.test.v1.{name}"))

        self.EchoRequest = cls("EchoRequest")
        self.EchoResponse = cls("EchoResponse")
        self.FailRequest = cls("FailRequest")
        self.CountRequest = cls("CountRequest")
        self.CountResponse = cls("CountResponse")
        self.SumResponse = cls("SumResponse")
        self.Empty = GetMessageClass(pool.FindMessageTypeByName("google.protobuf.Empty"))

    def echo(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.delay_ms:
            time.sleep(request.delay_ms / 1000)
        headers = []
        for key, value in context.invocation_metadata():
            if isinstance(value, bytes):
                import base64

                value = base64.b64encode(value).decode().rstrip("=")
            headers.append(f"{key}: {value}")
        context.send_initial_metadata((("x-echo-initial", "yes"),))
        context.set_trailing_metadata((("x-echo-trailer", "done"),))
        response = self.EchoResponse(message=request.message, headers=headers)
        if request.HasField("kitchen"):
            response.kitchen.CopyFrom(request.kitchen)
        return response

    def fail(self, request: Any, context: grpc.ServicerContext) -> Any:
        status = status_pb2.Status(code=request.code, message=request.message)
        if request.with_details:
            info = any_pb2.Any()
            info.Pack(
                error_details_pb2.ErrorInfo(
                    reason="TEST_FAILURE",
                    domain="rpcctl.test",
                    metadata={"code": str(request.code)},
                )
            )
            bad = any_pb2.Any()
            bad.Pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field="code", description="requested failure"
                        )
                    ]
                )
            )
            status.details.extend([info, bad])
        context.abort_with_status(rpc_status.to_status(status))

    def count(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        for n in range(1, request.count + 1):
            if n > 1 and request.interval_ms:
                time.sleep(request.interval_ms / 1000)
            yield self.CountResponse(n=n)
        if request.fail_code:
            context.abort(grpc.StatusCode(_code(request.fail_code)), "failed after the stream")

    def sum(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
        total = messages = 0
        for request in requests:
            total += request.n
            messages += 1
        return self.SumResponse(total=total, messages=messages)

    def chat(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        for seq, request in enumerate(requests, start=1):
            if request.delay_ms:
                time.sleep(request.delay_ms / 1000)
            yield self.EchoResponse(message=request.message, seq=seq)

    def handler(self) -> grpc.GenericRpcHandler:
        """A generic handler serving every method of the service."""

        def ser(message: Any) -> bytes:
            return bytes(message.SerializeToString())

        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Echo": grpc.unary_unary_rpc_method_handler(self.echo, self.EchoRequest.FromString, ser),
                "Lookup": grpc.unary_unary_rpc_method_handler(self.echo, self.EchoRequest.FromString, ser),
                "Fail": grpc.unary_unary_rpc_method_handler(self.fail, self.FailRequest.FromString, ser),
                "Count": grpc.unary_stream_rpc_method_handler(self.count, self.CountRequest.FromString, ser),
                "Sum": grpc.stream_unary_rpc_method_handler(self.sum, self.CountResponse.FromString, ser),
                "Chat": grpc.stream_stream_rpc_method_handler(self.chat, self.EchoRequest.FromString, ser),
            },
        )


def _code(number: int) -> tuple[int, str]:
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code.value
    return grpc.StatusCode.UNKNOWN.value


def start_server(
    pool: Any,
    *,
    reflection: tuple[str, ...] = ("v1", "v1alpha"),
    address: str = "127.0.0.1:0",
    credentials: grpc.ServerCredentials | None = None,
) -> tuple[grpc.Server, int]:
    """Start the test service (and reflection versions asked for); return the server and its port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((TestServiceImpl(pool).handler(),))
    names = (SERVICE,)
    if "v1alpha" in reflection:
        from grpc_reflection.v1alpha import reflection as v1alpha

        v1alpha.enable_server_reflection((*names, v1alpha.SERVICE_NAME), server, pool=pool)
    if "v1" in reflection:
        from tests.support.reflection_v1 import add_v1_reflection

        add_v1_reflection(server, names, pool)
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    server.start()
    return server, port
