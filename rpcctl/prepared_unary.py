"""`PreparedUnary`: the cheap unary call of a channel, for one method and one set of options.

`RpcChannel.unary` (what `rpcctl bench` calls per request, and `rpcctl.call.unary` where the
channel has it) prepares the request once per distinct method and `CallOptions`: the client
protocol's request head as the wire backend wants it (an HTTP/2 header list, or HTTP/1.1
request bytes) and, per distinct request message, the whole request. A call then costs one
whole-response request on the backend (`H2Client.request` or `H1Pool.request`, no per-call
task or exchange object) and, for the common answer, the protocol's ``plainly_ok_unary`` check.

Every other answer goes through the protocol's decoder (start, feed, trailers, finish) and the
unary cardinality rule, with the same wording and hints as `WireCall`
(`rpcctl.wire_call.explain`), so `rpcctl call` and `rpcctl bench` give one verdict per answer.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from rpcctl.errors import ProtocolError, RpcctlError, RpcError
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code
from rpcctl.wire_call import MORE_THAN_ONE, NO_RESPONSE, Hint, explain

if TYPE_CHECKING:
    from rpcctl.call import CallOptions, MethodInfo
    from rpcctl.protocols.exchange import ClientProtocol, RequestHead
    from rpcctl.transport.lean_h1 import H1Pool
    from rpcctl.transport.lean_h2 import H2Client
    from rpcctl.transport.whole_response import H2Response, Response

# Distinct request messages remembered per prepared call; templated runs make new ones.
REQUESTS_CACHED = 1024
# Room above the message size cap for framing (envelopes, a trailer frame, an error body): a
# call whose cap plus this exceeds the backend's whole-body cap takes the streamed path.
BODY_SLACK = 64 * 1024
# Framing headers the HTTP/1.1 client writes itself (as `H1Pool.open` drops them).
OWN_H1_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})

# An HTTP/2 request ready for `H2Client.request`: the header list and the whole body.
H2Request = tuple["list[tuple[bytes, bytes]]", bytes]
# A prepared request: the backend's whole-response call with its arguments bound (a partial:
# no per-call dispatch on the backend, no argument unpacking).
Send = Callable[[], "Awaitable[H2Response | Response]"]
# The protocol's cheap check: (status, headers, body, trailers) -> the one message, or None
# for "not sure" (the decoder then decides).
PlainCheck = Callable[[int, "list[tuple[bytes, bytes]]", bytes, "list[tuple[bytes, bytes]]"], "bytes | None"]


def plain_check(protocol: ClientProtocol, max_size: int) -> PlainCheck:
    """The plainly-OK check of ``protocol``'s unary answers, returning the message it holds."""
    from rpcctl.protocols.connect import ConnectClient
    from rpcctl.protocols.grpc import GrpcClient
    from rpcctl.protocols.grpc import plainly_ok_unary as grpc_ok

    if isinstance(protocol, GrpcClient):

        def grpc(status: int, headers: list, body: bytes, trailers: list) -> bytes | None:
            # One envelope and nothing else: the message follows the 5-byte prefix.
            return body[5:] if grpc_ok(status, headers, body, trailers, max_size) else None

        return grpc
    if isinstance(protocol, ConnectClient):
        from rpcctl.protocols.connect import plainly_ok_unary as connect_ok
        from rpcctl.protocols.connect import unary_content_type

        content_type = unary_content_type(protocol.codec).encode()

        def connect(status: int, headers: list, body: bytes, trailers: list) -> bytes | None:
            # A unary Connect answer's body is the bare message.
            return body if connect_ok(status, headers, body, content_type, max_size) else None

        return connect
    from rpcctl.protocols.grpc_web import content_type as grpc_web_type
    from rpcctl.protocols.grpc_web import plainly_ok_unary as grpc_web_ok

    web_type = grpc_web_type(protocol.codec, False).encode()  # type: ignore[attr-defined]
    ok_blocks: dict[bytes, bool] = {}

    def grpc_web(status: int, headers: list, body: bytes, trailers: list) -> bytes | None:
        if not grpc_web_ok(status, headers, body, web_type, max_size, ok_blocks):
            return None
        # One data envelope, then the trailer frame.
        return body[5 : 5 + int.from_bytes(body[1:5], "big")]

    return grpc_web


def decode_unary(
    protocol: ClientProtocol,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    trailers: list[tuple[bytes, bytes]],
    hint: Hint | None,
) -> bytes:
    """The one message of any whole unary answer, or the `RpcError` `WireCall` would raise."""
    decoder = protocol.new_decoder()
    response_headers = Metadata.from_header_bytes(headers)
    try:
        decoder.start(status, response_headers)
        messages = decoder.feed(body) if body else []
        if len(messages) > 1:
            # `WireCall` reports the second message before it reads the end of the body.
            raise ProtocolError(Code.UNIMPLEMENTED, MORE_THAN_ONE)
        decoder.take_trailers(Metadata.from_header_bytes(trailers))
        messages += decoder.finish()
        if not messages:
            raise ProtocolError(Code.UNIMPLEMENTED, NO_RESPONSE)
        if len(messages) > 1:
            raise ProtocolError(Code.UNIMPLEMENTED, MORE_THAN_ONE)
    except RpcctlError as exc:
        raise explain(exc, status, response_headers, decoder.trailers, hint) from None
    return messages[0]


class PreparedUnary:
    """Unary calls of one method with one `CallOptions`, over one wire backend."""

    __slots__ = (
        "_check",
        "_h1",
        "_h2",
        "_hint",
        "_host",
        "_pseudo",
        "_requests",
        "_scheme",
        "method",
        "options",
        "protocol",
        "timeout",
    )  # fmt: skip

    def __init__(
        self,
        method: MethodInfo,
        options: CallOptions,
        protocol: ClientProtocol,
        *,
        max_size: int,
        hint: Hint | None,
        h2: H2Client | None = None,
        h1: H1Pool | None = None,
        scheme: str,
        authority: str,
    ) -> None:
        self.method = method
        self.options = options
        self.protocol = protocol
        self.timeout = options.timeout
        self._hint = hint
        self._h2 = h2
        self._h1 = h1
        self._scheme = scheme.encode()
        self._host = authority
        self._pseudo = authority.encode()
        self._check = plain_check(protocol, max_size)
        # request message -> the backend's request call with the request built, ready to await
        self._requests: dict[bytes, Send] = {}

    def _build(self, request: bytes) -> Send:
        head, body = self.protocol.unary_request(request)
        send: Send
        if self._h2 is not None:
            headers, whole = self._h2_request(head, body)
            send = functools.partial(self._h2.request, headers, whole)
        else:
            assert self._h1 is not None  # one of the two backends is always given
            send = functools.partial(self._h1.request, self._h1_request(head, body))
        requests = self._requests
        if len(requests) >= REQUESTS_CACHED:
            requests.clear()  # a templated run: keep the cache bounded, the recent ones win
        requests[request] = send
        return send

    def _h2_request(self, head: RequestHead, body: bytes | None) -> H2Request:
        # The header list `H2Client.open` sends, built once.
        headers = [
            (b":method", head.method.encode()),
            (b":scheme", self._scheme),
            (b":path", head.path.encode()),
            (b":authority", self._pseudo),
        ]
        headers += [(name.encode(), value.encode()) for name, value in head.headers]
        return headers, body or b""

    def _h1_request(self, head: RequestHead, body: bytes | None) -> bytes:
        from rpcctl.transport.lean_h1 import build_request

        headers = [(k, v) for k, v in head.headers if k not in OWN_H1_HEADERS]
        try:
            return build_request(head.method, head.path, self._host, headers, body or b"")
        except ValueError as exc:
            raise RpcError(Code.INTERNAL, f"cannot send the request: {exc}") from None

    async def call(self, request: bytes) -> bytes:
        """One unary call: the response message, or `RpcError` (`TransportError` if no connection)."""
        send = self._requests.get(request)
        if send is None:
            send = self._build(request)
        if self.timeout is None:
            response = await send()
        else:
            try:
                async with asyncio.timeout(self.timeout):
                    response = await send()
            except TimeoutError:
                raise RpcError(Code.DEADLINE_EXCEEDED, f"deadline of {self.timeout:g}s exceeded") from None
        # HTTP/1.1 answers carry no trailers here: none of its protocols reads HTTP trailers.
        trailers = response.trailers if self._h2 is not None else []  # type: ignore[union-attr]
        message = self._check(response.status, response.headers, response.body, trailers)
        if message is not None:
            return message
        return decode_unary(
            self.protocol, response.status, response.headers, response.body, trailers, self._hint
        )
