"""A `connectrpc` (connect-python) TestService peer under hypercorn, for rpcctl's interop tests.

Usage: python connect_python_peer.py DESCRIPTOR_SET

Serves Connect, gRPC and gRPC-Web over HTTP/1.1 and h2c (prior knowledge) on 127.0.0.1, port 0,
and prints {"port": N} as one JSON line on stdout once the socket is listening. Exits when stdin
closes, or on SIGTERM / SIGINT. No generated code: message classes come from the descriptor set
(see interop_schema.py), endpoints are declared by hand with connectrpc's public server API.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from connectrpc.code import Code
from connectrpc.compat import google_protobuf_codecs
from connectrpc.errors import ConnectError, ErrorDetail
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.request import RequestContext
from connectrpc.server import ConnectASGIApplication, Endpoint
from google.protobuf import descriptor_pool
from protobuf.wkt import Any as AnyDetail

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hypercorn_peer import run
from interop_schema import TEST_SERVICE, Schema, load_schema

CODES = list(Code)  # in gRPC number order, 1 (CANCELED) .. 16 (UNAUTHENTICATED)
TYPE_URL_PREFIX = "type.googleapis.com/"


def _code(number: int) -> Code:
    return CODES[number - 1] if 1 <= number <= len(CODES) else Code.UNKNOWN


def _header_lines(ctx: RequestContext) -> list[str]:
    # -bin values arrive base64-encoded on the wire; they are reported as they came.
    return [f"{k}: {v}" for k, v in ctx.request_headers.allitems() if not k.startswith(":")]


def _detail(message: Any) -> ErrorDetail:
    type_url = TYPE_URL_PREFIX + message.DESCRIPTOR.full_name
    return ErrorDetail(AnyDetail(type_url=type_url, value=message.SerializeToString()))


class TestService:
    """rpcctl.test.v1.TestService, as documented in tests/protos/rpcctl/test/v1/test.proto."""

    def __init__(self, schema: Schema) -> None:
        self._schema = schema
        self.echo_response = schema.message("rpcctl.test.v1.EchoResponse")
        self.count_response = schema.message("rpcctl.test.v1.CountResponse")
        self.sum_response = schema.message("rpcctl.test.v1.SumResponse")
        self.empty = schema.message("google.protobuf.Empty")
        self.error_info = schema.message("google.rpc.ErrorInfo")
        self.bad_request = schema.message("google.rpc.BadRequest")

    async def echo(self, request: Any, ctx: RequestContext) -> Any:
        if request.delay_ms > 0:
            await asyncio.sleep(request.delay_ms / 1000)
        response = self.echo_response(message=request.message, headers=_header_lines(ctx))
        if request.HasField("kitchen"):
            response.kitchen.CopyFrom(request.kitchen)
        return response

    async def fail(self, request: Any, ctx: RequestContext) -> Any:
        if request.code == 0:
            return self.empty()  # status 0 is OK: nothing to fail with
        details = []
        if request.with_details:
            info = self.error_info(reason="TEST_FAILURE", domain="rpcctl.test")
            info.metadata["code"] = str(request.code)
            bad = self.bad_request()
            bad.field_violations.add(field="code", description="requested failure")
            details = [_detail(info), _detail(bad)]
        raise ConnectError(_code(request.code), request.message, details)

    async def count(self, request: Any, ctx: RequestContext) -> AsyncIterator[Any]:
        for n in range(1, request.count + 1):
            if n > 1 and request.interval_ms > 0:
                await asyncio.sleep(request.interval_ms / 1000)
            yield self.count_response(n=n)
        if request.fail_code != 0:
            raise ConnectError(_code(request.fail_code), f"count failed after {request.count}")

    async def sum(self, requests: AsyncIterator[Any], ctx: RequestContext) -> Any:
        total = messages = 0
        async for request in requests:
            total += request.n
            messages += 1
        return self.sum_response(total=total, messages=messages)

    async def chat(self, requests: AsyncIterator[Any], ctx: RequestContext) -> AsyncIterator[Any]:
        seq = 0
        async for request in requests:
            seq += 1
            if request.delay_ms > 0:
                await asyncio.sleep(request.delay_ms / 1000)
            yield self.echo_response(message=request.message, seq=seq)


def _method(schema: Schema, name: str, stream_type: StreamType) -> MethodInfo:
    desc = schema.pool.FindServiceByName(TEST_SERVICE).FindMethodByName(name)
    no_side_effects = desc.GetOptions().idempotency_level == desc.GetOptions().NO_SIDE_EFFECTS
    return MethodInfo(
        name=name,
        service_name=TEST_SERVICE,
        input=schema.message(desc.input_type.full_name),
        output=schema.message(desc.output_type.full_name),
        idempotency_level=(IdempotencyLevel.NO_SIDE_EFFECTS if no_side_effects else IdempotencyLevel.UNKNOWN),
        stream_type=stream_type,
    )


def make_app(schema: Schema) -> ConnectASGIApplication:
    """An ASGI app serving TestService at /rpcctl.test.v1.TestService/*."""

    def endpoints(svc: TestService) -> dict[str, Any]:
        unary, client, server, bidi = (
            StreamType.UNARY,
            StreamType.CLIENT_STREAM,
            StreamType.SERVER_STREAM,
            StreamType.BIDI_STREAM,
        )
        table = {
            "Echo": Endpoint.unary(_method(schema, "Echo", unary), svc.echo),
            "Lookup": Endpoint.unary(_method(schema, "Lookup", unary), svc.echo),
            "Fail": Endpoint.unary(_method(schema, "Fail", unary), svc.fail),
            "Count": Endpoint.server_stream(_method(schema, "Count", server), svc.count),
            "Sum": Endpoint.client_stream(_method(schema, "Sum", client), svc.sum),
            "Chat": Endpoint.bidi_stream(_method(schema, "Chat", bidi), svc.chat),
        }
        return {f"/{TEST_SERVICE}/{name}": ep for name, ep in table.items()}

    class TestServiceASGIApplication(ConnectASGIApplication[TestService]):
        @property
        def path(self) -> str:
            return f"/{TEST_SERVICE}"

    return TestServiceASGIApplication(
        service=TestService(schema), endpoints=endpoints, codecs=google_protobuf_codecs()
    )


def _app(descriptor_set: Path) -> Any:
    # The default pool, so that google.protobuf's JSON printer resolves Any type URLs.
    schema = load_schema(descriptor_set, descriptor_pool.Default())
    return make_app(schema)


def main() -> None:
    """Entry point: serve until stdin closes or a termination signal arrives."""
    run("connect_python_peer.py", _app)


if __name__ == "__main__":
    main()
