"""Scripted server answers to a unary call and the verdict each must get, per protocol.

Each row is a `Verdict`: what the server answers (HTTP status, headers, body, HTTP trailers)
and what a client must report for a unary call of `MAX_MESSAGE_SIZE` (the code, and a piece of
the message). The verdicts come from the specs (gRPC's PROTOCOL-HTTP2.md, PROTOCOL-WEB.md,
http-grpc-status-mapping.md, connectrpc.com/docs/protocol), not from what any client does.
Cardinality (zero or two messages for a unary call) is the call layer's verdict: a test that
drives a bare decoder applies it itself.

The tables are plain data so that every path that decodes answers (the protocol decoders, the
channel, bench's lean invokers) can be run over the same rows.
"""

from __future__ import annotations

import base64
import gzip
from typing import NamedTuple

from rpcctl.wire.envelope import encode_envelope
from rpcctl.wire.status import Code

MAX_MESSAGE_SIZE = 1000
# EchoResponse{message: "hi"}.
MESSAGE = b"\x0a\x02hi"
Pairs = tuple[tuple[str, str], ...]


class Verdict(NamedTuple):
    """One scripted answer and the outcome a client must report for it."""

    name: str
    http_status: int
    headers: Pairs
    body: bytes
    trailers: Pairs
    expected_code: Code
    expected_message: str  # a substring of the status message ("" for OK)
    raw_status: str = ""  # a `:status` that is no number, sent instead of http_status


def envelope(message: bytes, flags: int = 0) -> bytes:
    """One 5-byte-prefixed message."""
    return encode_envelope(message, flags)


MSG = envelope(MESSAGE)
GZIPPED = envelope(gzip.compress(MESSAGE), 0x01)
HTML = (("content-type", "text/html"),)
PAGE = b"<html><body>502 Bad Gateway</body></html>"
# google.rpc.Status{code: 5, message: "not found"}, unpadded base64.
DETAILS_NOT_FOUND = base64.b64encode(b"\x08\x05\x12\x09not found").decode().rstrip("=")

# --- native gRPC (HTTP/2, status in the HTTP trailers) ---------------------------------------------

GRPC_CT = (("content-type", "application/grpc"),)
OK_TRAILERS = (("grpc-status", "0"),)

GRPC_VERDICTS: list[Verdict] = [
    Verdict("ok", 200, GRPC_CT, MSG, OK_TRAILERS, Code.OK, ""),
    Verdict("ok +proto", 200, (("content-type", "application/grpc+proto"),), MSG, OK_TRAILERS, Code.OK, ""),
    Verdict("ok gzip", 200, (*GRPC_CT, ("grpc-encoding", "gzip")), GZIPPED, OK_TRAILERS, Code.OK, ""),
    Verdict(
        "trailers-only",
        200,
        (*GRPC_CT, ("grpc-status", "5"), ("grpc-message", "gone%20away")),
        b"",
        (),
        Code.NOT_FOUND,
        "gone away",
    ),
    Verdict("trailers-only without content type", 200, (("grpc-status", "7"),), b"", (), Code.PERMISSION_DENIED, ""),
    Verdict("trailers-only OK, no message", 200, (*GRPC_CT, ("grpc-status", "0")), b"", (), Code.UNIMPLEMENTED, "without a response message"),
    Verdict("trailers-only without grpc-status", 200, GRPC_CT, b"", (), Code.UNKNOWN, "no grpc-status"),
    Verdict("HTML 502", 502, HTML, PAGE, (), Code.UNAVAILABLE, "502"),
    Verdict("404", 404, HTML, b"<h1>nope</h1>", (), Code.UNIMPLEMENTED, "404"),
    Verdict("503 without body", 503, (), b"", (), Code.UNAVAILABLE, "503"),
    Verdict("401", 401, (), b"", (), Code.UNAUTHENTICATED, "401"),
    Verdict("418", 418, (), b"", (), Code.UNKNOWN, "418"),
    Verdict("400 with grpc-status", 400, (("grpc-status", "7"), ("grpc-message", "x")), b"", (), Code.PERMISSION_DENIED, "x"),
    Verdict("200 with an HTML content type", 200, HTML, PAGE, (), Code.UNKNOWN, "unexpected content type 'text/html'"),
    Verdict("200 with an HTML content type and OK trailers", 200, HTML, MSG, OK_TRAILERS, Code.UNKNOWN, "unexpected content type"),
    Verdict("codec mismatch", 200, (("content-type", "application/grpc+json"),), MSG, OK_TRAILERS, Code.INTERNAL, "does not match the proto codec"),
    Verdict("grpc-web content type", 200, (("content-type", "application/grpc-web+proto"),), MSG, OK_TRAILERS, Code.UNKNOWN, "unexpected content type"),
    Verdict("garbage body", 200, GRPC_CT, b"<html>garbage</html>", OK_TRAILERS, Code.INTERNAL, "invalid envelope flags"),
    Verdict("truncated envelope", 200, GRPC_CT, MSG[:-1], OK_TRAILERS, Code.INVALID_ARGUMENT, "truncated envelope"),
    Verdict("truncated prefix", 200, GRPC_CT, MSG[:3], OK_TRAILERS, Code.INVALID_ARGUMENT, "truncated envelope"),
    Verdict("zero messages", 200, GRPC_CT, b"", OK_TRAILERS, Code.UNIMPLEMENTED, "without a response message"),
    Verdict("two messages", 200, GRPC_CT, MSG + MSG, OK_TRAILERS, Code.UNIMPLEMENTED, "more than one response message"),
    Verdict("compressed without negotiation", 200, GRPC_CT, GZIPPED, OK_TRAILERS, Code.INTERNAL, "without negotiated compression"),
    Verdict("compressed with identity", 200, (*GRPC_CT, ("grpc-encoding", "identity")), GZIPPED, OK_TRAILERS, Code.INTERNAL, "without negotiated compression"),
    Verdict("unknown compression", 200, (*GRPC_CT, ("grpc-encoding", "br")), envelope(b"x", 0x01), OK_TRAILERS, Code.INTERNAL, "unknown compression"),
    Verdict("corrupt gzip", 200, (*GRPC_CT, ("grpc-encoding", "gzip")), envelope(b"not gzip", 0x01), OK_TRAILERS, Code.INTERNAL, "corrupt gzip"),
    Verdict("message above the size cap", 200, GRPC_CT, envelope(b"x" * 2000), OK_TRAILERS, Code.RESOURCE_EXHAUSTED, "larger than"),
    Verdict("bad grpc-status", 200, GRPC_CT, MSG, (("grpc-status", "abc"),), Code.UNKNOWN, "invalid grpc-status 'abc'"),
    Verdict("grpc-status out of range", 200, GRPC_CT, MSG, (("grpc-status", "17"),), Code.UNKNOWN, "out of range"),
    Verdict("trailers without grpc-status", 200, GRPC_CT, MSG, (("x-other", "1"),), Code.UNKNOWN, "no grpc-status"),
    Verdict("body without trailers", 200, GRPC_CT, MSG, (), Code.UNKNOWN, "without trailers"),
    Verdict("header status ignored when the body has no trailers", 200, (*GRPC_CT, ("grpc-status", "0")), MSG, (), Code.UNKNOWN, "without trailers"),
    Verdict("trailers beat a header status", 200, (*GRPC_CT, ("grpc-status", "8")), b"", (("grpc-status", "9"),), Code.FAILED_PRECONDITION, ""),
    Verdict("percent-decoded message", 200, GRPC_CT, b"", (("grpc-status", "3"), ("grpc-message", "%E2%98%BA bad%zz + plus")), Code.INVALID_ARGUMENT, "\u263a bad%zz + plus"),
    Verdict("status details", 200, GRPC_CT, b"", (("grpc-status", "5"), ("grpc-status-details-bin", DETAILS_NOT_FOUND)), Code.NOT_FOUND, "not found"),
]  # fmt: skip

# --- gRPC-Web (status in a trailer frame at the end of the body) ----------------------------------

WEB_CT = (("content-type", "application/grpc-web+proto"),)


def trailer_frame(block: bytes) -> bytes:
    """A gRPC-Web trailer frame (flag 0x80) holding an HTTP/1 header block."""
    return encode_envelope(block, 0x80)


WEB_OK = trailer_frame(b"grpc-status: 0\r\n")

GRPC_WEB_VERDICTS: list[Verdict] = [
    Verdict("ok", 200, WEB_CT, MSG + WEB_OK, (), Code.OK, ""),
    Verdict("ok gzip", 200, (*WEB_CT, ("grpc-encoding", "gzip")), GZIPPED + WEB_OK, (), Code.OK, ""),
    Verdict("trailers-only", 200, (*WEB_CT, ("grpc-status", "5"), ("grpc-message", "gone%20away")), b"", (), Code.NOT_FOUND, "gone away"),
    Verdict("header status and an empty trailer frame", 200, (*WEB_CT, ("grpc-status", "3"), ("grpc-message", "bad%20arg")), trailer_frame(b""), (), Code.INVALID_ARGUMENT, "bad arg"),
    Verdict("trailer frame beats a header status", 200, (*WEB_CT, ("grpc-status", "8")), trailer_frame(b"grpc-status: 9\r\n"), (), Code.FAILED_PRECONDITION, ""),
    Verdict("HTML 502", 502, HTML, PAGE, (), Code.UNAVAILABLE, "502"),
    Verdict("200 with an HTML content type", 200, HTML, PAGE, (), Code.UNKNOWN, "unexpected content type 'text/html'"),
    Verdict("codec mismatch", 200, (("content-type", "application/grpc-web+json"),), MSG + WEB_OK, (), Code.INTERNAL, "does not match the proto codec"),
    Verdict("garbage body", 200, WEB_CT, b"<html>garbage</html>", (), Code.INTERNAL, "invalid envelope flags"),
    Verdict("truncated envelope", 200, WEB_CT, MSG[:-1], (), Code.INVALID_ARGUMENT, "truncated envelope"),
    Verdict("zero messages", 200, WEB_CT, WEB_OK, (), Code.UNIMPLEMENTED, "without a response message"),
    Verdict("two messages", 200, WEB_CT, MSG + MSG + WEB_OK, (), Code.UNIMPLEMENTED, "more than one response message"),
    Verdict("compressed without negotiation", 200, WEB_CT, GZIPPED + WEB_OK, (), Code.INTERNAL, "without negotiated compression"),
    Verdict("bad grpc-status", 200, WEB_CT, MSG + trailer_frame(b"grpc-status: abc\r\n"), (), Code.UNKNOWN, "invalid grpc-status 'abc'"),
    Verdict("data without a trailer frame", 200, WEB_CT, MSG, (), Code.INTERNAL, "without a trailer frame"),
    # sonora 0.2.3's ASGI unary answer: its trailer block formats bytes as b'...'.
    Verdict("trailer frame without grpc-status", 200, WEB_CT, MSG + trailer_frame(b"b'grpc-status': b'0'\r\n"), (), Code.UNKNOWN, "no grpc-status"),
    Verdict("percent-decoded message", 200, WEB_CT, trailer_frame(b"grpc-status: 3\r\ngrpc-message: %E2%98%BA bad\r\n"), (), Code.INVALID_ARGUMENT, "\u263a bad"),
]  # fmt: skip

# --- Connect unary (a bare message, or a JSON error with an HTTP status) ---------------------------

CONNECT_CT = (("content-type", "application/proto"),)
JSON_CT = (("content-type", "application/json"),)

CONNECT_UNARY_VERDICTS: list[Verdict] = [
    Verdict("ok", 200, CONNECT_CT, MESSAGE, (), Code.OK, ""),
    Verdict("ok gzip", 200, (*CONNECT_CT, ("content-encoding", "gzip")), gzip.compress(MESSAGE), (), Code.OK, ""),
    Verdict("error JSON", 404, JSON_CT, b'{"code": "not_found", "message": "gone away"}', (), Code.NOT_FOUND, "gone away"),
    Verdict("HTML 502", 502, HTML, PAGE, (), Code.UNAVAILABLE, "502"),
    Verdict("200 with an HTML content type", 200, HTML, PAGE, (), Code.UNKNOWN, "unexpected content type 'text/html'"),
    Verdict("codec mismatch", 200, JSON_CT, b"{}", (), Code.INTERNAL, "does not match the proto codec"),
    Verdict("unknown compression", 200, (*CONNECT_CT, ("content-encoding", "br")), MESSAGE, (), Code.INTERNAL, "unknown compression"),
    Verdict("corrupt gzip", 200, (*CONNECT_CT, ("content-encoding", "gzip")), b"not gzip", (), Code.INTERNAL, "corrupt gzip"),
    Verdict("message above the size cap", 200, CONNECT_CT, b"x" * 2000, (), Code.RESOURCE_EXHAUSTED, "larger than"),
]  # fmt: skip

# --- answers that break the HTTP/2 connection: the transport's verdict, whatever the protocol ------

# A response `:status` is a three-digit code (RFC 9113 §8.3.2); anything else makes the response
# malformed (RFC 9113 §8.1.1), a connection error that fails every call on the connection.
BROKEN_CONNECTION_VERDICTS: list[Verdict] = [
    Verdict(":status: abc", 0, (), MSG, OK_TRAILERS, Code.INTERNAL, "a response :status of b'abc'", raw_status="abc"),
]  # fmt: skip
