"""rpcctl.test.v1.TestService on rpcctl's own server, written with the typed adapters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from google.protobuf import any_pb2
from google.rpc import error_details_pb2

from rpcctl.errors import RpcError
from rpcctl.schema.registry import Schema
from rpcctl.server.call import HandlerTable, ServerCall
from rpcctl.server.typed import service_handlers
from rpcctl.wire.error_detail import ErrorDetail
from rpcctl.wire.metadata import encode_binary_value
from rpcctl.wire.status import Code

SERVICE = "rpcctl.test.v1.TestService"


def _detail(message: Any) -> ErrorDetail:
    packed = any_pb2.Any()
    packed.Pack(message)
    return ErrorDetail(packed.type_url, packed.value)


class ServiceUnderTest:
    """The behaviour documented in tests/protos/rpcctl/test/v1/test.proto."""

    def __init__(self, schema: Schema) -> None:
        def cls(name: str) -> Any:
            return schema.message_class(schema.pool.FindMessageTypeByName(name))

        self.EchoResponse = cls("rpcctl.test.v1.EchoResponse")
        self.CountResponse = cls("rpcctl.test.v1.CountResponse")
        self.SumResponse = cls("rpcctl.test.v1.SumResponse")
        self.Empty = cls("google.protobuf.Empty")

    async def echo(self, request: Any, call: ServerCall) -> Any:
        if request.delay_ms:
            await asyncio.sleep(request.delay_ms / 1000)
        headers = [
            f"{k}: {encode_binary_value(v) if isinstance(v, bytes) else v}" for k, v in call.request_headers
        ]
        call.response_headers.add("x-echo-initial", "yes")
        call.response_trailers.add("x-echo-trailer", "done")
        response = self.EchoResponse(message=request.message, headers=headers)
        if request.HasField("kitchen"):
            response.kitchen.CopyFrom(request.kitchen)
        return response

    async def fail(self, request: Any, call: ServerCall) -> Any:
        if request.code == 0:
            return self.Empty()
        details = []
        if request.with_details:
            info = error_details_pb2.ErrorInfo(
                reason="TEST_FAILURE", domain="rpcctl.test", metadata={"code": str(request.code)}
            )
            bad = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field="code", description="requested failure")
                ]
            )
            details = [_detail(info), _detail(bad)]
        raise RpcError(Code.from_number(request.code), request.message, details)

    async def count(self, request: Any, call: ServerCall) -> AsyncIterator[Any]:
        for n in range(1, request.count + 1):
            if n > 1 and request.interval_ms:
                await asyncio.sleep(request.interval_ms / 1000)
            yield self.CountResponse(n=n)
        if request.fail_code:
            raise RpcError(Code.from_number(request.fail_code), "failed after the stream")

    async def sum(self, requests: AsyncIterator[Any], call: ServerCall) -> Any:
        total = messages = 0
        async for request in requests:
            total += request.n
            messages += 1
        return self.SumResponse(total=total, messages=messages)

    async def chat(self, requests: AsyncIterator[Any], call: ServerCall) -> AsyncIterator[Any]:
        seq = 0
        async for request in requests:
            seq += 1
            if request.delay_ms:
                await asyncio.sleep(request.delay_ms / 1000)
            yield self.EchoResponse(message=request.message, seq=seq)


def make_table(schema: Schema) -> HandlerTable:
    """A HandlerTable serving TestService."""
    svc = ServiceUnderTest(schema)
    table = HandlerTable()
    functions = {
        "Echo": svc.echo,
        "Lookup": svc.echo,
        "Fail": svc.fail,
        "Count": svc.count,
        "Sum": svc.sum,
        "Chat": svc.chat,
    }
    for handler in service_handlers(schema.find_service(SERVICE), functions, schema=schema):
        table.add(handler)
    return table
