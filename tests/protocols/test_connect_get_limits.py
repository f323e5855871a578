"""Connect GET on the server half: the message size limit holds after the query is decoded."""

from __future__ import annotations

import base64
from urllib.parse import quote_from_bytes

import pytest

from rpcctl.errors import RpcError
from rpcctl.protocols.connect_server import ConnectUnaryServer
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

LIMIT = 1000


def _decode(query: bytes) -> bytes:
    server = ConnectUnaryServer.for_get(Metadata(), query, LIMIT)
    decoder = server.request_decoder()
    (message,) = decoder.finish()
    return message


def test_percent_encoded_message_past_the_limit_after_decoding() -> None:
    # 1,500 bytes decoded from 1,500 characters: under the 2x bound on the query, over the cap.
    payload = b"a" * 1500
    with pytest.raises(RpcError) as info:
        _decode(b"encoding=proto&message=" + quote_from_bytes(payload).encode())
    assert info.value.code is Code.RESOURCE_EXHAUSTED


def test_base64_message_past_the_limit_after_decoding() -> None:
    payload = base64.urlsafe_b64encode(b"\x00" * 1400).rstrip(b"=")
    with pytest.raises(RpcError) as info:
        _decode(b"encoding=proto&base64=1&message=" + payload)
    assert info.value.code is Code.RESOURCE_EXHAUSTED


def test_message_at_the_limit_is_read() -> None:
    payload = base64.urlsafe_b64encode(b"\x01" * LIMIT).rstrip(b"=")
    assert _decode(b"encoding=proto&base64=1&message=" + payload) == b"\x01" * LIMIT


def test_a_long_protocol_version_is_clipped_in_the_error() -> None:
    server = ConnectUnaryServer(Metadata([("connect-protocol-version", "9" * 100_000)]), "proto", LIMIT)
    with pytest.raises(RpcError) as info:
        server.timeout()
    assert info.value.code is Code.INVALID_ARGUMENT
    assert len(info.value.message) < 400


@pytest.mark.parametrize("length", ["4294967295", "0" * 50 + "1001", "9" * 5000])
def test_client_refuses_a_declared_length_past_the_cap_at_the_headers(length: str) -> None:
    from rpcctl.protocols.connect import ConnectUnaryDecoder

    decoder = ConnectUnaryDecoder("proto", LIMIT)
    with pytest.raises(RpcError) as info:
        decoder.start(200, Metadata([("content-type", "application/proto"), ("content-length", length)]))
    assert info.value.code is Code.RESOURCE_EXHAUSTED
    assert len(info.value.message) < 200


@pytest.mark.parametrize("length", ["1000", "0", "\u0661\u0660", "12abc"])
def test_client_leaves_other_lengths_to_the_body(length: str) -> None:
    from rpcctl.protocols.connect import ConnectUnaryDecoder

    decoder = ConnectUnaryDecoder("proto", LIMIT)
    decoder.start(200, Metadata([("content-type", "application/proto"), ("content-length", length)]))
    assert decoder.feed(b"\x08\x01") == []
    assert decoder.finish() == [b"\x08\x01"]
