"""Malformed and hostile requests get the answer the specs and the Connect conformance suite give.

gRPC's PROTOCOL-HTTP2.md and PROTOCOL-WEB.md, connectrpc.com/docs/protocol; the size limits
and injection checks are rpcctl's own.

Raw bytes with httpx (HTTP/1.1) and h2 (HTTP/2, to read gRPC trailers); exact statuses.
"""

from __future__ import annotations

import base64
import gzip
import json
import struct
from typing import Any

import httpx
import pytest

from rpcctl.schema.registry import Schema
from rpcctl.server.serve import Server
from tests.server.h2_raw import RawResponse, h2_request

ECHO = "/rpcctl.test.v1.TestService/Echo"
COUNT = "/rpcctl.test.v1.TestService/Count"
LIMIT = 4 * 1024 * 1024
GRPC = [("content-type", "application/grpc"), ("te", "trailers")]


def frame(data: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(data)) + data


def echo_bytes(schema: Schema, message: str = "hi") -> bytes:
    cls = schema.message_class(schema.pool.FindMessageTypeByName("rpcctl.test.v1.EchoRequest"))
    return bytes(cls(message=message).SerializeToString())


def bomb() -> bytes:
    """~8 KiB of gzip that inflates to 8 MiB."""
    return gzip.compress(b"\0" * (2 * LIMIT), compresslevel=9)


@pytest.fixture
def http(threaded: Server) -> Any:
    with httpx.Client(base_url=threaded.url, timeout=10) as client:
        yield client


def grpc(threaded: Server, headers: list[tuple[str, str]], body: bytes, path: str = ECHO) -> RawResponse:
    return h2_request(threaded.address, path, headers, body)


# --- Connect ------------------------------------------------------------------------------


def test_wrong_content_type_is_415(http: httpx.Client):
    res = http.post(ECHO, content=b"\xff\xd8", headers={"content-type": "image/jpeg"})
    assert res.status_code == 415
    assert "application/connect+proto" in res.headers["accept-post"]


@pytest.mark.parametrize("ctype", ["application/foo", "application/connect+foo", "application/grpc-web+foo"])
def test_unknown_codec_is_415(http: httpx.Client, ctype: str):
    assert http.post(ECHO, content=b"{}", headers={"content-type": ctype}).status_code == 415


def test_unknown_method_is_404_unimplemented(http: httpx.Client):
    res = http.post("/rpcctl.test.v1.TestService/Nope", json={})
    assert res.status_code == 404
    assert res.json()["code"] == "unimplemented"


@pytest.mark.parametrize("verb", ["DELETE", "PUT", "PATCH"])
def test_bad_verb_is_405(http: httpx.Client, verb: str):
    res = http.request(verb, ECHO, json={})
    assert res.status_code == 405
    assert res.headers["allow"] == "GET, POST"


def test_get_on_a_side_effecting_method_is_405(http: httpx.Client):
    res = http.get(ECHO, params={"connect": "v1", "encoding": "json", "message": "{}"})
    assert res.status_code == 405
    assert res.headers["allow"] == "POST"


def test_get_with_base64_proto_and_gzip(http: httpx.Client, schema: Schema):
    payload = base64.urlsafe_b64encode(gzip.compress(echo_bytes(schema, "g"))).rstrip(b"=").decode()
    res = http.get(
        "/rpcctl.test.v1.TestService/Lookup",
        params={
            "connect": "v1",
            "base64": "1",
            "compression": "gzip",
            "encoding": "proto",
            "message": payload,
        },
    )
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/proto"
    assert b"g" in res.content


def test_get_without_encoding_is_415_and_unknown_compression_is_501(http: httpx.Client):
    lookup = "/rpcctl.test.v1.TestService/Lookup"
    assert http.get(lookup, params={"message": "{}"}).status_code == 415
    res = http.get(lookup, params={"encoding": "json", "compression": "br", "message": "{}"})
    assert res.status_code == 501


@pytest.mark.parametrize("value", ["abc", "-1", "12345678901"])
def test_bad_timeout_is_400_invalid_argument(http: httpx.Client, value: str):
    res = http.post(ECHO, json={}, headers={"connect-timeout-ms": value})
    assert res.status_code == 400
    assert res.json()["code"] == "invalid_argument"


def test_bad_protocol_version_is_400(http: httpx.Client):
    res = http.post(ECHO, json={}, headers={"connect-protocol-version": "2"})
    assert (res.status_code, res.json()["code"]) == (400, "invalid_argument")


def test_unsupported_encoding_is_501_with_the_accept_list(http: httpx.Client):
    res = http.post(
        ECHO, content=b"xx", headers={"content-type": "application/json", "content-encoding": "zstd"}
    )
    assert res.status_code == 501
    body = res.json()
    assert body["code"] == "unimplemented"
    assert "gzip" in body["message"]
    assert "zstd" not in res.headers["accept-encoding"]


def test_unary_gzip_bomb_is_resource_exhausted(http: httpx.Client):
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    res = http.post(ECHO, content=bomb(), headers=headers)
    assert (res.status_code, res.json()["code"]) == (429, "resource_exhausted")


def test_unary_body_over_the_limit_is_resource_exhausted(http: httpx.Client):
    res = http.post(ECHO, content=b" " * (LIMIT + 1), headers={"content-type": "application/json"})
    assert (res.status_code, res.json()["code"]) == (429, "resource_exhausted")


def test_unary_gzip_request_and_response(http: httpx.Client):
    body = gzip.compress(json.dumps({"message": "w" * 4000}).encode())
    headers = {"content-type": "application/json", "content-encoding": "gzip", "accept-encoding": "gzip"}
    res = http.post(ECHO, content=body, headers=headers)
    assert res.status_code == 200
    assert res.headers["content-encoding"] == "gzip"
    assert res.json()["message"] == "w" * 4000  # httpx inflated it


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[" * 5000 + b"]" * 5000, b'{"message": ' + b"7" * 5000 + b"}", b'{"message": "\xff"}'],
    ids=["garbage", "deep", "long-number", "bad-utf8"],
)
def test_undecodable_json_is_invalid_argument(http: httpx.Client, body: bytes):
    # connect-go's answer (unmarshal failures are CodeInvalidArgument), never a 500.
    res = http.post(ECHO, content=body, headers={"content-type": "application/json"})
    assert (res.status_code, res.json()["code"]) == (400, "invalid_argument")
    assert len(res.json()["message"]) < 1000


def _end_stream(res: httpx.Response) -> dict[str, Any]:
    body = res.content
    while body:
        flags, length = struct.unpack(">BI", body[:5])
        if flags & 0x02:
            return json.loads(body[5 : 5 + length])
        body = body[5 + length :]
    raise AssertionError("no end-stream frame")


CONNECT_STREAM = {"content-type": "application/connect+proto"}


@pytest.mark.parametrize(
    ("body", "headers", "code"),
    [
        (b"\x00\x00\x00\x00\x10abc", {}, "invalid_argument"),  # truncated envelope
        (b"\x00\xff\xff\xff\xff", {}, "resource_exhausted"),  # a 4 GiB length prefix
        (b"\x02\x00\x00\x00\x00", {}, "internal"),  # end-stream flag in a request
        (b"\x01\x00\x00\x00\x03abc", {}, "internal"),  # compressed without an encoding
        (frame(bomb(), 1), {"connect-content-encoding": "gzip"}, "resource_exhausted"),
        (b"", {"connect-content-encoding": "snappy"}, "unimplemented"),
        (b"", {}, "unimplemented"),  # server stream without its request
        (frame(b"") + frame(b""), {}, "unimplemented"),  # ... or with two
    ],
    ids=["truncated", "4gib", "end-stream-flag", "compressed-identity", "bomb", "encoding", "none", "two"],
)
def test_connect_stream_errors_end_the_stream(
    http: httpx.Client, body: bytes, headers: dict[str, str], code: str
):
    res = http.post(COUNT, content=body, headers={**CONNECT_STREAM, **headers})
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/connect+proto"
    assert _end_stream(res)["error"]["code"] == code


# --- gRPC-Web -----------------------------------------------------------------------------


def _trailer_frame(body: bytes) -> dict[str, str]:
    while body:
        flags, length = struct.unpack(">BI", body[:5])
        if flags & 0x80:
            lines = body[5 : 5 + length].decode().split("\r\n")
            return dict(line.split(": ", 1) for line in lines if line)
        body = body[5 + length :]
    raise AssertionError("no trailer frame")


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (ECHO, b"\x00\x00\x00\x00\x10abc", "3"),
        (ECHO, b"\x00\xff\xff\xff\xff", "8"),
        ("/rpcctl.test.v1.TestService/Nope", frame(b""), "12"),
        (ECHO, frame(b"") + frame(b""), "12"),
        (ECHO, b"", "12"),
    ],
    ids=["truncated", "4gib", "unknown-method", "two-requests", "no-request"],
)
def test_grpc_web_errors_are_trailer_frames(http: httpx.Client, path: str, body: bytes, status: str):
    res = http.post(path, content=body, headers={"content-type": "application/grpc-web+proto"})
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/grpc-web+proto"
    assert _trailer_frame(res.content)["grpc-status"] == status


def test_grpc_web_text_round_trip(http: httpx.Client, schema: Schema):
    body = base64.b64encode(frame(echo_bytes(schema, "text")))
    res = http.post(ECHO, content=body, headers={"content-type": "application/grpc-web-text"})
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/grpc-web-text+proto"
    raw = b"".join(base64.b64decode(chunk + b"=" * (-len(chunk) % 4)) for chunk in _b64_segments(res.content))
    assert b"text" in raw
    assert _trailer_frame(raw[5 + struct.unpack(">I", raw[1:5])[0] :])["grpc-status"] == "0"


def _b64_segments(text: bytes) -> list[bytes]:
    out, start = [], 0
    for i in range(4, len(text) + 1, 4):
        if text[i - 1 : i] == b"=" or i == len(text):
            out.append(text[start:i])
            start = i
    return out


# --- native gRPC --------------------------------------------------------------------------


def test_grpc_over_http1_is_505(http: httpx.Client):
    res = http.post(ECHO, content=frame(b""), headers={"content-type": "application/grpc", "te": "trailers"})
    assert res.status_code == 505
    assert res.headers["grpc-status"] == "13"


def test_grpc_unknown_codec_is_415(threaded: Server):
    res = grpc(threaded, [("content-type", "application/grpc+foo"), ("te", "trailers")], frame(b""))
    assert res.status == 415


def test_grpc_without_te_trailers_gets_the_status_in_the_headers(threaded: Server):
    res = grpc(threaded, [("content-type", "application/grpc")], frame(b""))
    assert (res.status, res.headers["grpc-status"]) == (200, "13")


def test_grpc_proto_subformats_echo_their_content_type(threaded: Server, schema: Schema):
    for ctype in ("application/grpc", "application/grpc+proto"):
        res = grpc(threaded, [("content-type", ctype), ("te", "trailers")], frame(echo_bytes(schema)))
        assert (res.status, res.headers["content-type"], res.grpc_status) == (200, ctype, 0)


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ([], b"\x00\x00\x00\x00\x10abc", 3),
        ([], b"\x00\xff\xff\xff\xff", 8),
        ([], b"\x01\x00\x00\x00\x03abc", 13),
        ([("grpc-encoding", "gzip")], frame(bomb(), 1), 8),
        ([("grpc-encoding", "gzip")], frame(b"not gzip", 1), 13),
        ([("grpc-timeout", "1X")], frame(b""), 3),
        ([("grpc-timeout", "123456789S")], frame(b""), 3),
        ([], frame(b"") + frame(b""), 12),
        ([], b"", 12),
    ],
    ids=[
        "truncated",
        "4gib",
        "compressed-identity",
        "bomb",
        "corrupt-gzip",
        "bad-unit",
        "9-digits",
        "two",
        "none",
    ],
)
def test_grpc_errors_are_trailers(threaded: Server, headers: list[tuple[str, str]], body: bytes, status: int):
    res = grpc(threaded, GRPC + headers, body)
    assert res.status == 200
    assert res.trailers["grpc-status"] == str(status)
    assert "Traceback" not in json.dumps(res.trailers)


def test_grpc_unsupported_encoding_is_unimplemented_with_accept_list(threaded: Server):
    res = grpc(threaded, [*GRPC, ("grpc-encoding", "snappy")], frame(b"x", 1))
    assert res.trailers["grpc-status"] == "12"
    accepted = [e.strip() for e in res.headers["grpc-accept-encoding"].split(",")]
    assert "gzip" in accepted
    assert "snappy" not in accepted


def test_grpc_response_is_gzipped_when_accepted(threaded: Server, schema: Schema):
    body = frame(echo_bytes(schema, "r" * 5000))
    res = grpc(threaded, [*GRPC, ("grpc-accept-encoding", "gzip")], body)
    assert res.headers["grpc-encoding"] == "gzip"
    assert res.body[0] == 1  # the compressed flag
    assert b"r" * 5000 in gzip.decompress(res.body[5:])
    assert res.trailers["grpc-status"] == "0"
