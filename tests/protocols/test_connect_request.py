"""Connect request building: headers, bodies, GET URLs.

Connect protocol: "Unary-Request", "Unary-Get-Request", "Streaming-Request".
"""

from __future__ import annotations

import base64
import gzip
from urllib.parse import unquote

import pytest

from rpcctl.call import CallOptions, MethodInfo
from rpcctl.client import RpcChannel
from rpcctl.errors import UsageError
from rpcctl.protocols.connect import ConnectClient, get_query
from rpcctl.schema.registry import CallKind
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from rpcctl.wire.metadata import Metadata

PATH = "/svc.v1.Svc/Method"
BUF = bytes.fromhex("0a03427566")  # field 1 = "Buf"


def client(**kwargs: object) -> ConnectClient:
    params: dict[str, object] = {
        "codec": "proto",
        "streaming": False,
        "metadata": Metadata(),
        "max_message_size": 1024,
    }
    params.update(kwargs)
    return ConnectClient(PATH, **params)  # type: ignore[arg-type]


def test_unary_post_headers_and_bare_body() -> None:
    md = Metadata([("x-a", "1"), ("x-trace-bin", b"\x00\xff")])
    head, body = client(codec="json", metadata=md, timeout=2.5).unary_request(b'{"a":1}')
    assert head.method == "POST"
    assert head.path == PATH
    assert head.header("content-type") == "application/json"
    assert head.header("connect-protocol-version") == "1"
    assert head.header("connect-timeout-ms") == "2500"
    assert head.header("content-encoding") is None
    assert head.header("x-a") == "1"
    assert head.header("x-trace-bin") == "AP8"  # unpadded standard base64
    assert body == b'{"a":1}'


def test_unary_gzip_compresses_whole_body() -> None:
    head, body = client(compression_name="gzip").unary_request(BUF)
    assert head.header("content-encoding") == "gzip"
    assert body is not None and gzip.decompress(body) == BUF


def test_streaming_head_and_envelopes() -> None:
    c = client(codec="json", streaming=True, compression_name="gzip")
    head = c.stream_head()
    assert head.header("content-type") == "application/connect+json"
    assert head.header("connect-content-encoding") == "gzip"
    assert head.header("connect-accept-encoding") == "gzip"
    assert head.header("accept-encoding") == "identity"
    frame = c.encode_message(b"{}")
    assert frame[0] == 0x01
    assert gzip.decompress(frame[5:]) == b"{}"
    assert client(streaming=True).encode_message(b"") == b"\x00\x00\x00\x00\x00"


def test_server_stream_request_is_enveloped() -> None:
    head, body = client(streaming=True).unary_request(BUF)
    assert head.header("content-type") == "application/connect+proto"
    assert body == b"\x00\x00\x00\x00\x05" + BUF


def test_get_proto_url_matches_spec_example() -> None:
    head, body = client(use_get=True).unary_request(BUF)
    assert head.method == "GET"
    assert body is None
    assert head.path == PATH + "?connect=v1&base64=1&encoding=proto&message=CgNCdWY"
    assert head.header("content-type") is None
    assert head.header("connect-protocol-version") is None


def test_get_json_is_percent_encoded_not_base64() -> None:
    query = get_query("json", b'{"message":"a b&c"}', None)
    assert query.startswith("connect=v1&encoding=json&message=")
    assert unquote(query.rsplit("message=", 1)[1]) == '{"message":"a b&c"}'
    assert "&" not in query.rsplit("message=", 1)[1]


def test_get_compressed_parameters_in_spec_order() -> None:
    query = get_query("json", b'{"message":"hi"}', "gzip")
    names = [part.split("=", 1)[0] for part in query.split("&")]
    assert names == ["connect", "base64", "compression", "encoding", "message"]
    payload = query.rsplit("message=", 1)[1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert gzip.decompress(raw) == b'{"message":"hi"}'


def _channel(**kwargs: object) -> RpcChannel:
    return RpcChannel(ChannelSettings(Target.parse("http://127.0.0.1:1"), **kwargs))  # type: ignore[arg-type]


def test_get_refused_for_methods_with_side_effects() -> None:
    method = MethodInfo(PATH, CallKind.UNARY, no_side_effects=False)
    with pytest.raises(UsageError, match="NO_SIDE_EFFECTS"):
        _channel(use_get=True)._protocol(method, CallOptions())


def test_get_refused_for_streams_and_grpc_web() -> None:
    stream = MethodInfo(PATH, CallKind.SERVER_STREAM, no_side_effects=True)
    with pytest.raises(UsageError, match="unary"):
        _channel(use_get=True)._protocol(stream, CallOptions())
    unary = MethodInfo(PATH, CallKind.UNARY, no_side_effects=True)
    with pytest.raises(UsageError, match="Connect"):
        _channel(use_get=True, protocol=RpcProtocol.GRPC_WEB)._protocol(unary, CallOptions())
    assert _channel(use_get=True)._protocol(unary, CallOptions()).use_get


def test_bad_metadata_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="metadata"):
        client(metadata=Metadata([("x-evil", "a\r\nb: c")])).unary_request(b"")
