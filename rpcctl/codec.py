"""Codecs: how a message becomes the bytes of a call (`proto` binary or Connect's `json`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Protocol

from rpcctl import jsonsafe
from rpcctl.errors import ProtocolError, UsageError
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from google.protobuf.descriptor_pool import DescriptorPool
    from google.protobuf.message import Message


class Codec(Protocol):
    """Turns messages into bytes and back."""

    name: str

    def encode(self, message: Message) -> bytes:
        """The message's bytes."""

    def decode(self, data: bytes, cls: type[Message]) -> Message:
        """A message of `cls` from its bytes; `ProtocolError` (INTERNAL) on garbage."""


def check_required(message: Message) -> None:
    """Raise `UsageError` naming the proto2 `required` fields (dotted paths) a message lacks.

    A message without them cannot be serialized (https://protobuf.dev/programming-guides/proto2/#field-labels).
    """
    if message.IsInitialized():
        return
    missing = message.FindInitializationErrors()
    noun = "field" if len(missing) == 1 else "fields"
    raise UsageError(f"{message.DESCRIPTOR.full_name}: missing required {noun} {', '.join(missing)}")


class ProtoCodec:
    """The protobuf binary encoding."""

    name = "proto"

    def encode(self, message: Message) -> bytes:
        """Serialize; a missing `required` field is a `UsageError` that names it."""
        from google.protobuf.message import EncodeError

        try:
            return message.SerializeToString()
        except EncodeError as exc:
            check_required(message)
            raise UsageError(f"cannot encode {message.DESCRIPTOR.full_name}: {exc}") from exc

    def decode(self, data: bytes, cls: type[Message]) -> Message:
        """Parse, translating protobuf's error."""
        from google.protobuf.message import DecodeError

        message = cls()
        try:
            message.ParseFromString(data)
        except DecodeError as exc:
            raise ProtocolError(Code.INTERNAL, f"cannot decode {cls.DESCRIPTOR.full_name}: {exc}") from exc
        return message


class JsonCodec:
    """The proto3 JSON encoding (Connect's `json` codec)."""

    name = "json"

    def __init__(self, pool: DescriptorPool | None = None) -> None:
        self.pool = pool

    def encode(self, message: Message) -> bytes:
        """Compact proto3 JSON; a missing `required` field is a `UsageError`, as in binary."""
        from google.protobuf import json_format

        check_required(message)
        value = json_format.MessageToDict(message, descriptor_pool=self.pool)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

    def decode(self, data: bytes, cls: type[Message]) -> Message:
        """Parse proto3 JSON, ignoring fields this schema does not know."""
        from google.protobuf import json_format

        try:
            value = jsonsafe.loads(data)
            return json_format.ParseDict(value, cls(), ignore_unknown_fields=True, descriptor_pool=self.pool)
        except (ValueError, json_format.ParseError) as exc:
            raise ProtocolError(
                Code.INTERNAL, f"cannot decode {cls.DESCRIPTOR.full_name} from JSON: {exc}"
            ) from exc


def codec_for(name: str, pool: DescriptorPool | None = None) -> Codec:
    """The codec called `name` (`proto` or `json`)."""
    return JsonCodec(pool) if name == "json" else ProtoCodec()
