"""Publishing one call's events (START, REQUEST, RESPONSE, END) on an `EventBus`.

Messages are decoded to proto3 JSON dicts when the schema knows the method; otherwise (or
when they do not decode) the event carries the raw bytes. Without a bus nothing is decoded.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rpcctl.call_events import CallEvent, EventBus, EventKind
from rpcctl.codec import codec_for
from rpcctl.errors import RpcError
from rpcctl.wire.metadata import Metadata, encode_binary_value
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from google.protobuf.descriptor import Descriptor, MethodDescriptor

    from rpcctl.codec import Codec
    from rpcctl.schema.registry import Schema


def metadata_json(md: Metadata) -> list[list[str]]:
    """Metadata as ``[[name, value], ...]``; ``-bin`` values as unpadded base64."""
    return [[k, encode_binary_value(v) if isinstance(v, bytes) else v] for k, v in md]


class CallObserver:
    """The events of one call; every method is a no-op without a bus."""

    def __init__(
        self,
        bus: EventBus | None,
        schema: Schema | None,
        call_id: str,
        method: str,
        codec: str,
        method_desc: MethodDescriptor | None = None,
    ) -> None:
        self.bus = bus
        self.call_id = call_id
        self.method = method
        self.started = time.monotonic()
        self._input: Descriptor | None = None if method_desc is None else method_desc.input_type
        self._output: Descriptor | None = None if method_desc is None else method_desc.output_type
        self._schema = schema
        self._codec = codec
        self._codec_obj: Codec | None = None

    @property
    def active(self) -> bool:
        """Whether events are wanted now (a bus with at least one subscriber)."""
        return self.bus is not None and self.bus.has_subscribers

    def start(self, protocol: str, headers: Metadata, peer: str) -> None:
        """The call arrived."""
        if not self.active:
            return
        info = {
            "method": self.method,
            "protocol": protocol,
            "codec": self._codec,
            "headers": metadata_json(headers),
            "peer": peer,
        }
        self._publish(EventKind.START, info=info)

    def request(self, data: bytes) -> None:
        """A request message arrived."""
        if self.active:
            self._publish(EventKind.REQUEST, *self._decode(data, self._input))

    def response(self, data: bytes) -> None:
        """A response message is being sent."""
        if self.active:
            self._publish(EventKind.RESPONSE, *self._decode(data, self._output))

    def end(self, error: RpcError | None, trailers: Metadata) -> None:
        """The call ended with ``error`` (None for OK)."""
        if not self.active:
            return
        code = Code.OK if error is None else error.code
        info = {
            "code": int(code),
            "message": "" if error is None else error.message,
            "details": []
            if error is None
            else [{"type": d.type_name, "value": encode_binary_value(d.value)} for d in error.details],
            "trailers": metadata_json(trailers),
            "duration": time.monotonic() - self.started,
        }
        self._publish(EventKind.END, info=info)

    def _decode(self, data: bytes, desc: Descriptor | None) -> tuple[Any, bytes | None]:
        if desc is None or self._schema is None:
            return None, data
        from google.protobuf import json_format

        try:
            codec = self._codec_obj
            if codec is None:
                codec = self._codec_obj = codec_for(self._codec, self._schema.pool)
            message = codec.decode(data, self._schema.message_class(desc))
            return json_format.MessageToDict(message, descriptor_pool=self._schema.pool), None
        except Exception:  # any undecodable message is recorded raw
            return None, data

    def _publish(
        self,
        kind: EventKind,
        message: Any = None,
        raw: bytes | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        if self.bus is None:
            return
        self.bus.publish(
            CallEvent(kind, self.call_id, self.method, message=message, raw=raw, info=info or {})
        )
