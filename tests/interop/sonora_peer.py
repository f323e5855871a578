"""A sonora (the Python gRPC-Web server) TestService peer under hypercorn, for rpcctl's interop tests.

Usage: python sonora_peer.py DESCRIPTOR_SET

Serves gRPC-Web (binary and text mode, proto only) over HTTP/1.1 on 127.0.0.1, port 0, through
sonora's ASGI app, and prints {"port": N} as one JSON line on stdout once the socket is
listening. Exits when stdin closes, or on SIGTERM / SIGINT. Handlers are grpc generic handlers
over message classes from the descriptor set (see interop_schema.py); no generated code.
"""

from __future__ import annotations

import asyncio
import base64
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from sonora import asgi, protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hypercorn_peer import run
from interop_schema import TEST_SERVICE, Schema, load_schema

CODES = {code.value[0]: code for code in grpc.StatusCode}


def _pack_trailers(trailers: Any) -> bytes:
    """sonora 0.2.3's own `pack_trailers`, minus its bug: the ASGI unary path hands it bytes,
    which it formats as ``b'grpc-status': b'0'``, a trailer frame without a grpc-status
    (tests/support/verdicts.py has that answer's verdict). Everything else is sonora's."""
    text = [
        (k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
        for k, v in trailers
    ]
    return _SONORA_PACK_TRAILERS(text)


_SONORA_PACK_TRAILERS = protocol.pack_trailers
protocol.pack_trailers = _pack_trailers


def _code(number: int) -> grpc.StatusCode:
    return CODES.get(number, grpc.StatusCode.UNKNOWN)


class TestService:
    """rpcctl.test.v1.TestService (tests/protos/rpcctl/test/v1/test.proto), the unary and
    server-streaming methods that gRPC-Web carries."""

    def __init__(self, schema: Schema) -> None:
        self.echo_request = schema.message("rpcctl.test.v1.EchoRequest")
        self.echo_response = schema.message("rpcctl.test.v1.EchoResponse")
        self.fail_request = schema.message("rpcctl.test.v1.FailRequest")
        self.count_request = schema.message("rpcctl.test.v1.CountRequest")
        self.count_response = schema.message("rpcctl.test.v1.CountResponse")
        self.empty = schema.message("google.protobuf.Empty")

    async def echo(self, request: Any, context: Any) -> Any:
        if request.delay_ms > 0:
            await asyncio.sleep(request.delay_ms / 1000)
        headers = []
        for key, value in context.invocation_metadata():
            if isinstance(value, bytes):  # sonora decodes -bin values; report them as sent
                value = base64.b64encode(value).decode().rstrip("=")
            headers.append(f"{key}: {value}")
        response = self.echo_response(message=request.message, headers=headers)
        if request.HasField("kitchen"):
            response.kitchen.CopyFrom(request.kitchen)
        return response

    async def fail(self, request: Any, context: Any) -> Any:
        if request.code == 0:
            return self.empty()
        await context.abort(_code(request.code), request.message)

    async def count(self, request: Any, context: Any) -> AsyncIterator[Any]:
        for n in range(1, request.count + 1):
            if n > 1 and request.interval_ms > 0:
                await asyncio.sleep(request.interval_ms / 1000)
            yield self.count_response(n=n)
        if request.fail_code != 0:
            # Not abort(): sonora can only end a stream that has started with a trailer frame.
            context.set_code(_code(request.fail_code))
            context.set_details(f"count failed after {request.count}")

    def handler(self) -> grpc.GenericRpcHandler:
        """A generic handler for the methods above."""

        def ser(message: Any) -> bytes:
            return bytes(message.SerializeToString())

        return grpc.method_handlers_generic_handler(
            TEST_SERVICE,
            {
                "Echo": grpc.unary_unary_rpc_method_handler(self.echo, self.echo_request.FromString, ser),
                "Fail": grpc.unary_unary_rpc_method_handler(self.fail, self.fail_request.FromString, ser),
                "Count": grpc.unary_stream_rpc_method_handler(self.count, self.count_request.FromString, ser),
            },
        )


def _app(descriptor_set: Path) -> Any:
    schema = load_schema(descriptor_set)
    app = asgi.grpcASGI()
    app.add_generic_rpc_handlers((TestService(schema).handler(),))
    return app


def main() -> None:
    """Entry point: serve until stdin closes or a termination signal arrives."""
    run("sonora_peer.py", _app)


if __name__ == "__main__":
    main()
