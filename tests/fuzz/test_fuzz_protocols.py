"""Properties of the protocol halves (rpcctl.protocols): client decoders and server decoders.

A client decoder fed any status, headers, body chunks and trailers raises `RpcError` only and
hands out no message above the cap; a server half's request decoder the same; and what the
server half encodes, the client half of the same protocol decodes back.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from rpcctl.errors import RpcError
from rpcctl.protocols.base_server import EnvelopeRequestDecoder
from rpcctl.protocols.connect import ConnectStreamDecoder, ConnectUnaryDecoder
from rpcctl.protocols.connect_server import (
    ConnectStreamServer,
    ConnectUnaryServer,
    parse_stream_content_type,
    parse_unary_content_type,
    query_params,
)
from rpcctl.protocols.exchange import ResponseDecoder
from rpcctl.protocols.grpc import GrpcDecoder
from rpcctl.protocols.grpc_server import GrpcServer, parse_content_type
from rpcctl.protocols.grpc_web import GrpcWebDecoder
from rpcctl.protocols.grpc_web import parse_content_type as parse_web_content_type
from rpcctl.protocols.grpc_web_server import GrpcWebServer
from rpcctl.wire.envelope import encode_envelope
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code
from tests.fuzz.chunking import chunks

CAP = 256
DECODERS: dict[str, Callable[[], ResponseDecoder]] = {
    "grpc": lambda: GrpcDecoder("proto", CAP),
    "grpc-web": lambda: GrpcWebDecoder("proto", CAP),
    "connect-unary": lambda: ConnectUnaryDecoder("proto", CAP),
    "connect-stream": lambda: ConnectStreamDecoder("proto", CAP),
}
CONTENT_TYPES = [
    "application/grpc",
    "application/grpc+proto",
    "application/grpc-web+proto",
    "application/grpc-web-text+proto",
    "application/proto",
    "application/json",
    "application/connect+proto",
    "application/connect+json",
    "text/html",
]
HEADER = st.one_of(
    st.tuples(st.just(b"content-type"), st.sampled_from(CONTENT_TYPES).map(str.encode)),
    st.tuples(
        st.sampled_from(
            [
                b"grpc-status",
                b"grpc-message",
                b"grpc-encoding",
                b"content-encoding",
                b"connect-content-encoding",
            ]
        ),
        st.one_of(st.sampled_from([b"0", b"3", b"gzip", b"br", b"identity"]), st.binary(max_size=20)),
    ),
    st.tuples(st.binary(max_size=10), st.binary(max_size=30)),
)
HEADERS = st.lists(HEADER, max_size=5).map(Metadata.from_header_bytes)
ENVELOPE = st.tuples(st.sampled_from([0, 1, 2, 0x80, 0x81]), st.binary(max_size=40)).map(
    lambda fb: encode_envelope(fb[1], fb[0])
)
BODY = st.one_of(st.binary(max_size=300), st.lists(ENVELOPE, max_size=4).map(b"".join))


@given(
    st.sampled_from(sorted(DECODERS)),
    st.sampled_from([200, 200, 200, 400, 404, 500, 502, 503, 101, 999]),
    HEADERS,
    BODY,
    st.lists(st.integers(0, 400), max_size=5),
    HEADERS,
)
def test_client_decoders_raise_rpc_errors_only(
    kind: str, status: int, headers: Metadata, body: bytes, cuts: list[int], trailers: Metadata
) -> None:
    decoder = DECODERS[kind]()
    messages: list[bytes] = []
    try:
        decoder.start(status, headers)
        for chunk in chunks(body, cuts):
            messages += decoder.feed(chunk)
        decoder.take_trailers(trailers)
        messages += decoder.finish()
    except RpcError as exc:
        assert isinstance(exc.code, Code)
    assert all(len(m) <= CAP for m in messages)


@given(
    st.sampled_from(["grpc", "grpc-web", "grpc-web-text", "connect-stream"]),
    BODY,
    st.lists(st.integers(0, 400), max_size=5),
)
def test_server_request_decoders_raise_rpc_errors_only(kind: str, body: bytes, cuts: list[int]) -> None:
    if kind == "grpc-web-text":
        body = base64.b64encode(body)
    decoder = EnvelopeRequestDecoder(CAP, "gzip" if kind == "grpc" else None, text=kind == "grpc-web-text")
    messages: list[bytes] = []
    try:
        for chunk in chunks(body, cuts):
            messages += decoder.feed(chunk)
        messages += decoder.finish()
    except RpcError:
        pass
    assert all(len(m) <= CAP for m in messages)


@given(st.binary(max_size=300), HEADERS)
def test_connect_get_any_query(query: bytes, headers: Metadata) -> None:
    query_params(query)
    try:
        server = ConnectUnaryServer.for_get(headers, query, CAP)
        server.timeout()
        (message,) = server.request_decoder().finish()
    except RpcError:
        return
    assert len(message) <= CAP


@given(st.one_of(st.none(), st.text(max_size=60)))
def test_content_type_parsers_never_raise(value: str | None) -> None:
    parse_content_type(value)
    parse_web_content_type(value)
    parse_unary_content_type(value)
    parse_stream_content_type(value)


def _serve(server: GrpcServer | ConnectStreamServer, messages: list[bytes], error: RpcError | None) -> tuple:
    server.request_decoder()  # negotiates the response encoding
    head = server.response_head(Metadata([("x-h", "1")]))
    end = server.end(error, Metadata([("x-t", "2")]))
    body = b"".join(server.encode_message(m) for m in messages) + end.body
    return head, body, Metadata(end.trailers) if end.trailers else Metadata()


@given(
    st.sampled_from(["grpc", "grpc-web", "grpc-web-text", "connect-stream"]),
    st.lists(st.binary(max_size=CAP), max_size=4),
    st.one_of(
        st.none(), st.tuples(st.sampled_from([c for c in Code if c is not Code.OK]), st.text(max_size=40))
    ),
    st.lists(st.integers(0, 2000), max_size=6),
)
def test_server_half_to_client_half_round_trip(
    kind: str, messages: list[bytes], failure: tuple[Code, str] | None, cuts: list[int]
) -> None:
    error = RpcError(*failure) if failure is not None else None
    if kind == "grpc":
        server: GrpcServer | ConnectStreamServer = GrpcServer(Metadata(), "proto", CAP)
        decoder: ResponseDecoder = GrpcDecoder("proto", CAP)
    elif kind.startswith("grpc-web"):
        server = GrpcWebServer(Metadata(), "proto", CAP, text=kind == "grpc-web-text")
        decoder = GrpcWebDecoder("proto", CAP)
    else:
        server = ConnectStreamServer(Metadata(), "proto", CAP)
        decoder = ConnectStreamDecoder("proto", CAP)
    head, body, trailers = _serve(server, messages, error)
    decoder.start(head.status, Metadata.from_wire_pairs(head.headers))
    got = [m for chunk in chunks(body, cuts) for m in decoder.feed(chunk)]
    decoder.take_trailers(Metadata.from_wire_pairs(trailers.to_wire_pairs()))
    try:
        got += decoder.finish()
    except RpcError as exc:
        assert error is not None and (exc.code, exc.message) == (error.code, error.message)
    else:
        assert error is None
    assert got == messages
