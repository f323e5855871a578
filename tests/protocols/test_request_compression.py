"""The three client halves read `--compress` alike: case and spaces do not matter, and
identity means no compression (no encoding header, no compressed flag)."""

from __future__ import annotations

import pytest

from rpcctl.errors import UsageError
from rpcctl.protocols.connect import ConnectClient
from rpcctl.protocols.grpc import GrpcClient
from rpcctl.protocols.grpc_web import GrpcWebClient
from rpcctl.wire.metadata import Metadata

PATH = "/t.v1.S/M"
ENCODING_HEADERS = {"grpc-encoding", "connect-content-encoding", "content-encoding"}


def _clients(name: str | None) -> list[object]:
    common = {"codec": "proto", "metadata": Metadata(), "compression_name": name, "max_message_size": 1024}
    return [
        GrpcClient(PATH, **common),
        GrpcWebClient(PATH, **common),
        ConnectClient(PATH, streaming=True, **common),
        ConnectClient(PATH, streaming=False, **common),
    ]


@pytest.mark.parametrize("name", ["identity", "IDENTITY", " identity "])
def test_identity_in_any_case_is_no_compression(name: str) -> None:
    for client in _clients(name):
        head, body = client.unary_request(b"\x0a\x01x")  # type: ignore[attr-defined]
        assert not {key for key, _ in head.headers} & ENCODING_HEADERS, type(client).__name__
        assert body in (b"\x0a\x01x", b"\x00\x00\x00\x00\x03\x0a\x01x"), type(client).__name__


@pytest.mark.parametrize("name", ["gzip", "GZIP", " Gzip "])
def test_gzip_in_any_case_is_sent_as_gzip(name: str) -> None:
    for client in _clients(name):
        head, body = client.unary_request(b"\x0a\x01x" * 100)  # type: ignore[attr-defined]
        values = {value for key, value in head.headers if key in ENCODING_HEADERS}
        assert values == {"gzip"}, type(client).__name__
        assert body is not None and len(body) < 300, type(client).__name__


def test_unsupported_compression_is_a_usage_error() -> None:
    for make in (GrpcClient, GrpcWebClient):
        with pytest.raises(UsageError, match="unsupported compression 'br'"):
            make(PATH, codec="proto", metadata=Metadata(), compression_name="br", max_message_size=1)
    with pytest.raises(UsageError, match="unsupported compression 'br'"):
        ConnectClient(PATH, codec="proto", streaming=False, metadata=Metadata(), compression_name="br",
                      max_message_size=1)  # fmt: skip
