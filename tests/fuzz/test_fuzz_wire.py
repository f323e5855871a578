"""Properties of the sans-IO decoders of rpcctl.wire and of rpcctl.jsonsafe.

Never an exception outside the documented error types; decoded sizes never above the cap;
what rpcctl encodes, it decodes back.
"""

from __future__ import annotations

import contextlib
import json

from hypothesis import given
from hypothesis import strategies as st

from rpcctl import jsonsafe
from rpcctl.errors import ProtocolError, RpcError, Status, UsageError
from rpcctl.wire import compression
from rpcctl.wire.connect_error import (
    check_connect_error,
    connect_error_body,
    end_stream_body,
    parse_connect_error,
    parse_end_stream,
)
from rpcctl.wire.envelope import (
    FLAG_COMPRESSED,
    FLAG_END_STREAM,
    EnvelopeReader,
    encode_envelope,
)
from rpcctl.wire.error_detail import ErrorDetail
from rpcctl.wire.grpc_status import (
    check_status_metadata,
    decode_grpc_message,
    decode_status_details,
    encode_grpc_message,
    status_from_metadata,
    status_to_metadata,
)
from rpcctl.wire.metadata import Metadata, decode_binary_value, encode_binary_value, parse_header_option
from rpcctl.wire.status import Code
from rpcctl.wire.timeout import parse_connect_timeout, parse_duration, parse_grpc_timeout
from rpcctl.wire.trailer_block import encode_trailer_block, parse_trailer_block
from tests.fuzz.chunking import chunks

CAP = 256
JSONISH = st.text(alphabet='[]{}",:0123456789.-+eEtrufalsn \\u\n\x00é٣', max_size=400)
TEXT = st.text(max_size=200)
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=60)
HEADER_NAMES = st.sampled_from(
    ["grpc-status", "grpc-message", "grpc-status-details-bin", "content-type", "x-a", "x-b-bin", "trailer-x"]
)
PAIRS = st.lists(
    st.tuples(st.one_of(HEADER_NAMES.map(str.encode), st.binary(max_size=12)), st.binary(max_size=60)),
    max_size=6,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=30,
)
CODES = st.sampled_from(list(Code))


@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=8), st.sampled_from([1, 3, 0x83]))
def test_envelope_reader_on_any_bytes(data: bytes, cuts: list[int], flags: int) -> None:
    reader = EnvelopeReader(CAP, flags)
    try:
        for chunk in chunks(data, cuts):
            for envelope in reader.feed(chunk):
                assert len(envelope.data) <= CAP
        reader.finish()
    except ProtocolError:
        pass


@given(st.lists(st.binary(max_size=CAP), max_size=5), st.lists(st.integers(0, 2000), max_size=8))
def test_envelope_round_trip_in_any_chunking(messages: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_envelope(m) for m in messages) + encode_envelope(b"{}", FLAG_END_STREAM)
    reader = EnvelopeReader(CAP, FLAG_COMPRESSED | FLAG_END_STREAM)
    got = [env for chunk in chunks(stream, cuts) for env in reader.feed(chunk)]
    reader.finish()
    assert [env.data for env in got] == [*messages, b"{}"]
    assert got[-1].end_stream and reader.ended


@given(st.sampled_from(["gzip", "deflate"]), st.binary(max_size=400))
def test_decompress_any_bytes(name: str, data: bytes) -> None:
    try:
        out = compression.decompress(name, data, CAP)
    except RpcError as exc:
        assert exc.code in (Code.INTERNAL, Code.RESOURCE_EXHAUSTED)
    else:
        assert len(out) <= CAP


@given(st.sampled_from(["gzip", "deflate"]), st.binary(max_size=2 * CAP))
def test_compression_round_trip_and_cap(name: str, data: bytes) -> None:
    packed = compression.compress(name, data)
    try:
        assert compression.decompress(name, packed, CAP) == data
    except RpcError as exc:
        assert exc.code is Code.RESOURCE_EXHAUSTED and len(data) > CAP


@given(
    st.one_of(st.binary(max_size=300), JSONISH.map(str.encode)),
    st.integers(0, 999),
    st.sampled_from([None, "application/json", "application/json; charset=utf-8", "text/html"]),
)
def test_parse_connect_error_never_raises(body: bytes, status: int, content_type: str | None) -> None:
    err = parse_connect_error(body, status, content_type)
    assert isinstance(err, RpcError)
    assert len(err.message) <= 4096 + 400
    check_connect_error(body)


@given(
    st.one_of(
        st.binary(max_size=300), JSONISH.map(str.encode), JSON_VALUES.map(lambda v: json.dumps(v).encode())
    )
)
def test_parse_end_stream_raises_protocol_errors_only(payload: bytes) -> None:
    try:
        parse_end_stream(payload)
    except ProtocolError as exc:
        assert exc.code is Code.INTERNAL


@given(CODES.filter(lambda c: c is not Code.OK), TEXT, st.lists(st.binary(max_size=20), max_size=3))
def test_connect_error_round_trip(code: Code, message: str, details: list[bytes]) -> None:
    err = RpcError(code, message, [ErrorDetail("type.googleapis.com/x.Y", d) for d in details])
    back = parse_connect_error(connect_error_body(err), code.connect_http_status, "application/json")
    assert (back.code, back.message, back.details) == (code, message, err.details)
    end, trailers = parse_end_stream(end_stream_body(err, Metadata([("x-t", "v")])))
    assert end is not None and (end.code, end.message) == (code, message)
    assert trailers.get("x-t") == "v"


@given(PAIRS, PAIRS, st.one_of(st.none(), st.integers(100, 599)))
def test_status_from_metadata_never_raises(trailers: list, headers: list, http_status: int | None) -> None:
    block = Metadata.from_header_bytes(trailers)
    status = status_from_metadata(block, Metadata.from_header_bytes(headers), http_status)
    assert isinstance(status.code, Code)
    assert len(status.message) <= 4096 + 400
    check_status_metadata(block)


@given(CODES, TEXT)
def test_status_round_trip(code: Code, message: str) -> None:
    message = message if code is not Code.OK else ""
    status = status_from_metadata(
        Metadata.from_wire_pairs(status_to_metadata(Status(code, message)).to_wire_pairs())
    )
    assert (status.code, status.message) == (code, message)


@given(TEXT)
def test_grpc_message_round_trip(message: str) -> None:
    encoded = encode_grpc_message(message)
    assert encoded.isascii()
    assert decode_grpc_message(encoded) == message.encode("utf-8", "replace").decode("utf-8", "replace")


@given(st.one_of(st.binary(max_size=200), HEADER_TEXT))
def test_status_details_raise_protocol_errors_only(value: bytes | str) -> None:
    with contextlib.suppress(ProtocolError):
        decode_status_details(value)


@given(st.binary(max_size=100))
def test_binary_header_round_trip(data: bytes) -> None:
    assert decode_binary_value(encode_binary_value(data)) == data


@given(HEADER_TEXT)
def test_binary_header_decoding_raises_value_error_only(text: str) -> None:
    with contextlib.suppress(ValueError):
        decode_binary_value(text)


@given(st.binary(max_size=300))
def test_trailer_block_any_bytes(payload: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_trailer_block(payload)


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"x-[a-z0-9]{1,8}", fullmatch=True), st.from_regex(r"[ -~]{0,20}", fullmatch=True)
        ),
        max_size=5,
    )
)
def test_trailer_block_round_trip(pairs: list[tuple[str, str]]) -> None:
    md = Metadata([(name, value.strip(" \t")) for name, value in pairs])
    assert parse_trailer_block(encode_trailer_block(md)) == md


@given(HEADER_TEXT)
def test_timeouts_and_durations(text: str) -> None:
    for parse in (parse_grpc_timeout, parse_connect_timeout):
        try:
            parse(text)
        except RpcError as exc:
            assert exc.code is Code.INVALID_ARGUMENT
    with contextlib.suppress(UsageError):
        parse_duration(text, "--timeout")


@given(HEADER_TEXT)
def test_header_option(text: str) -> None:
    with contextlib.suppress(UsageError):
        parse_header_option(text)


@given(JSONISH)
def test_jsonsafe_raises_decode_errors_only(text: str) -> None:
    with contextlib.suppress(json.JSONDecodeError):
        jsonsafe.loads(text)


@given(JSON_VALUES)
def test_jsonsafe_round_trip(value: object) -> None:
    assert jsonsafe.loads(json.dumps(value)) == value


@given(st.integers(1, 400), st.sampled_from("[{"))
def test_jsonsafe_depth_bound(depth: int, bracket: str) -> None:
    close = "]" if bracket == "[" else "}"
    text = (bracket if bracket == "[" else '{"a":') * depth + ("1" if bracket == "{" else "") + close * depth
    try:
        jsonsafe.loads(text)
    except json.JSONDecodeError as exc:
        assert depth > jsonsafe.MAX_DEPTH and "nested deeper" in exc.msg
    else:
        assert depth <= jsonsafe.MAX_DEPTH
