"""Requests and headers of a bench run: encoded once, re-encoded per call only when templated.

`PayloadSpec` and `HeaderSpec` are plain picklable records (they travel to worker processes);
`compile()` turns them into the objects the hot loop uses.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rpcctl import jsonsafe
from rpcctl.bench.plan import Pick
from rpcctl.bench.template import CallContext, Template
from rpcctl.errors import UsageError
from rpcctl.wire.metadata import Metadata, parse_header_option

if TYPE_CHECKING:
    from google.protobuf.descriptor_pool import DescriptorPool
    from google.protobuf.message import Message

Encoder = Callable[[str], bytes]


@dataclass(frozen=True)
class PayloadSpec:
    """The request texts of a run, with the bytes of those that need no templating."""

    texts: tuple[str, ...]
    encoded: tuple[bytes | None, ...]
    message_name: str = ""
    codec: str = "proto"
    protoset: bytes | None = None

    @property
    def templated(self) -> bool:
        """Some request is rendered per call."""
        return any(data is None for data in self.encoded)

    def compile(self, pick: Pick) -> Payloads:
        """The payloads, with an encoder built from the schema when templates need one."""
        encoder = make_encoder(self.protoset, self.message_name, self.codec) if self.templated else None
        items: list[bytes | Template] = [
            data if data is not None else Template(text)
            for text, data in zip(self.texts, self.encoded, strict=True)
        ]
        return Payloads(items, encoder, pick)


def build_payload_spec(
    texts: list[str], protoset: bytes, message_name: str, codec: str, encoder: Encoder
) -> PayloadSpec:
    """Encode every static text now; check every templated one by rendering it once."""
    encoded: list[bytes | None] = []
    for text in texts:
        template = Template(text)
        if template.static:
            encoded.append(encoder(text))
        else:
            encoder(template.render(CallContext(0, 0)))
            encoded.append(None)
    templated = any(data is None for data in encoded)
    return PayloadSpec(tuple(texts), tuple(encoded), message_name, codec, protoset if templated else None)


def make_encoder(protoset: bytes | None, message_name: str, codec: str) -> Encoder:
    """A JSON-text-to-wire-bytes function for one message type of a serialized schema."""
    from google.protobuf.descriptor_pb2 import FileDescriptorSet

    from rpcctl.schema.registry import Schema

    files = FileDescriptorSet.FromString(protoset or b"")
    schema = Schema(list(files.file))
    cls = schema.message_class(schema.pool.FindMessageTypeByName(message_name))
    return encoder_for(cls, schema.pool, codec)


def encoder_for(cls: type[Message], pool: DescriptorPool, codec: str) -> Encoder:
    """JSON text → message of `cls` → bytes in `codec`; `UsageError` on bad JSON or fields."""
    from rpcctl.codec import codec_for
    from rpcctl.schema.jsoncodec import message_from_json

    wire = codec_for(codec, pool)

    def encode(text: str) -> bytes:
        try:
            value = jsonsafe.loads(text)
        except ValueError as exc:
            raise UsageError(f"invalid request JSON {text[:80]!r}: {exc}") from None
        return wire.encode(message_from_json(value, cls, pool))

    return encode


class Payloads:
    """The requests to send, picked round-robin (by call sequence) or at random."""

    def __init__(self, items: list[bytes | Template], encoder: Encoder | None, pick: Pick) -> None:
        if not items:
            raise UsageError("no request to send")
        self.items = items
        self.encoder = encoder
        self.random = pick is Pick.RANDOM
        only = items[0]
        self.constant: bytes | None = only if len(items) == 1 and isinstance(only, bytes) else None

    def get(self, ctx: CallContext) -> bytes:
        """The bytes of the request for this call."""
        if self.constant is not None:
            return self.constant
        item = random.choice(self.items) if self.random else self.items[ctx.seq % len(self.items)]
        if isinstance(item, bytes):
            return item
        assert self.encoder is not None  # templated specs always carry one
        return self.encoder(item.render(ctx))


@dataclass(frozen=True)
class HeaderSpec:
    """The -H options of a run as given (values may hold templates)."""

    headers: tuple[str, ...] = ()

    def compile(self) -> Headers:
        """Parsed headers; static ones once and for all."""
        return Headers(self.headers)


class Headers:
    """Request metadata: one `Metadata` for every call unless a value is templated."""

    def __init__(self, options: tuple[str, ...]) -> None:
        self.static = Metadata()
        self.templates: list[Template] = []
        for option in options:
            template = Template(option)
            if template.static:
                name, value = parse_header_option(option)
                self.static.add(name, value)
            else:
                parse_header_option(template.render(CallContext(0, 0)))
                self.templates.append(template)

    @property
    def templated(self) -> bool:
        """Some header is rendered per call."""
        return bool(self.templates)

    def get(self, ctx: CallContext) -> Metadata:
        """The metadata of this call."""
        if not self.templates:
            return self.static
        metadata = self.static.copy()
        for template in self.templates:
            name, value = parse_header_option(template.render(ctx))
            metadata.add(name, value)
        return metadata
