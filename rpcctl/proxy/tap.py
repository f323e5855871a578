"""A tap on a relayed call: its bytes decoded on the side into the events the proxy publishes.

The request bytes go through the protocol's server-half decoder (what a server would read),
the response bytes through its client-half decoder (what a client would read), so the events
(START, REQUEST, RESPONSE, END) carry the messages, as proto3 JSON when the schema knows the
method, and the final status a client would conclude. The bytes themselves are not touched:
a decoder that fails stops the events of that side, never the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import TYPE_CHECKING, Any

from rpcctl.call_events import CallEvent, EventKind
from rpcctl.errors import RpcctlError, RpcError
from rpcctl.transport.target import RpcProtocol
from rpcctl.wire.metadata import Metadata

if TYPE_CHECKING:
    from rpcctl.call_events import EventBus
    from rpcctl.protocols.exchange import ResponseDecoder
    from rpcctl.proxy.decoding import MessageDecoder
    from rpcctl.server.call import RawCall
    from rpcctl.server.http_call import RequestDecoder

_ids = itertools.count(1)


class Tap:
    """The events of one relayed call, from its bytes decoded on the side."""

    def __init__(self, bus: EventBus, decoder: MessageDecoder, call: RawCall) -> None:
        self.bus = bus
        self.decoder = decoder
        self.call = call
        self.call_id = f"p{next(_ids)}"
        self.method = call.path
        self.codec = call.half.codec
        self.started = time.monotonic()
        self.requests: RequestDecoder | None = None
        self.responses: ResponseDecoder | None = None
        self.headers = Metadata()
        self.status: RpcError | None = None
        self.ended = False

    def start(self) -> None:
        call = self.call
        self._event(
            EventKind.START,
            info={
                "method": self.method,
                "protocol": call.protocol.value,
                "codec": self.codec,
                "headers": call.headers.items(),
                "peer": call.peer,
            },
        )
        with contextlib.suppress(RpcctlError):
            self.requests = call.half.request_decoder()

    def request(self, data: bytes, *, last: bool = False) -> None:
        if self.requests is None:
            return
        try:
            messages = self.requests.feed(data) if data else []
            if last:
                messages += self.requests.finish()
        except RpcctlError:
            self.requests = None
            return
        for message in messages:
            self._message(EventKind.REQUEST, message)

    def response_head(self, status: int, headers: Metadata) -> None:
        self.headers = headers
        self.responses = _client_decoder(self.call, self.codec)
        try:
            self.responses.start(status, headers)
        except RpcError as exc:
            self.status = exc

    def response(self, data: bytes) -> None:
        if self.responses is None or self.status is not None:
            return
        try:
            messages = self.responses.feed(data)
        except RpcError as exc:
            self.status = exc
            return
        for message in messages:
            self._message(EventKind.RESPONSE, message)

    def response_end(self, trailers: Metadata) -> None:
        decoder = self.responses
        if decoder is None or self.status is not None:
            return
        try:
            decoder.take_trailers(trailers)
            for message in decoder.finish():
                self._message(EventKind.RESPONSE, message)
        except RpcError as exc:
            self.status = exc

    async def end(self, error: RpcError | None) -> None:
        """Publish END, and let the subscribers run before the client gets the last bytes,
        so that a client which has its answer finds the call in the capture."""
        if self.ended:
            return
        self.ended = True
        status = error or self.status
        decoder = self.responses
        info: dict[str, Any] = {
            "code": int(status.code) if status else 0,
            "message": status.message if status else "",
            "details": self.decoder.details(status.details) if status else [],
            "trailers": decoder.trailers.items() if decoder is not None else [],
            "response_headers": (decoder.headers if decoder is not None else self.headers).items(),
            "duration": time.monotonic() - self.started,
        }
        self._event(EventKind.END, info=info)
        await asyncio.sleep(0)

    def _message(self, kind: EventKind, data: bytes) -> None:
        decoded = self.decoder.decode(self.method, data, self.codec, request=kind is EventKind.REQUEST)
        self._event(kind, message=decoded, raw=None if decoded is not None else data)

    def _event(
        self,
        kind: EventKind,
        *,
        message: Any = None,
        raw: bytes | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.bus.publish(
            CallEvent(kind, self.call_id, self.method, message=message, raw=raw, info=info or {})
        )


def _client_decoder(call: RawCall, codec: str) -> ResponseDecoder:
    """The client half's decoder of the call's protocol, to read the relayed response on the side."""
    size = call.max_body
    if call.protocol is RpcProtocol.GRPC:
        from rpcctl.protocols.grpc import GrpcClient

        return GrpcClient(call.path, codec=codec, metadata=Metadata(), max_message_size=size).new_decoder()
    if call.protocol is RpcProtocol.GRPC_WEB:
        from rpcctl.protocols.grpc_web import GrpcWebClient

        text = "grpc-web-text" in str(call.headers.get("content-type") or "")
        return GrpcWebClient(
            call.path, text=text, codec=codec, metadata=Metadata(), max_message_size=size
        ).new_decoder()
    from rpcctl.protocols.connect import ConnectStreamDecoder, ConnectUnaryDecoder

    if call.unary_response:
        return ConnectUnaryDecoder(codec, size)
    return ConnectStreamDecoder(codec, size)
