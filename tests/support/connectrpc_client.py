"""The `connectrpc` package's client, as the independent client of server and interop tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from connectrpc.client import ConnectClient
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
from connectrpc.protocol import ProtocolType
from pyqwest import Client, HTTPTransport, HTTPVersion

HTTP = {"h1": HTTPVersion.HTTP1, "h2c": HTTPVersion.HTTP2}
PROTOCOL_HTTP = [
    (ProtocolType.CONNECT, "h1"),
    (ProtocolType.CONNECT, "h2c"),
    (ProtocolType.GRPC_WEB, "h1"),
    (ProtocolType.GRPC_WEB, "h2c"),
    (ProtocolType.GRPC, "h2c"),  # gRPC is HTTP/2 only
]


@contextlib.asynccontextmanager
async def connectrpc_client(
    url: str, protocol: ProtocolType, http: str, codec: str = "proto"
) -> AsyncIterator[ConnectClient]:
    """A connectrpc client for `url` over `protocol` and HTTP version `http` ("h1" or "h2c")."""
    async with HTTPTransport(http_version=HTTP[http]) as transport:
        yield ConnectClient(
            url,
            protocol=protocol,
            codec=google_protobuf_json_codec() if codec == "json" else google_protobuf_binary_codec(),
            http_client=Client(transport),
            timeout_ms=20_000,
        )
