"""Messages as events carry them: proto3 JSON when the schema knows the method, else raw bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rpcctl import jsonsafe

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from rpcctl.schema.registry import CallKind, Schema
    from rpcctl.wire.error_detail import ErrorDetail


class MessageDecoder:
    """Decodes the messages of the methods of one schema (classes cached per method)."""

    def __init__(self, schema: Schema | None) -> None:
        self.schema = schema
        self._methods: dict[str, tuple[type[Message], type[Message], CallKind, bool] | None] = {}

    def method(self, path: str) -> tuple[type[Message], type[Message], CallKind, bool] | None:
        """Input class, output class, call kind and no-side-effects flag of a method path."""
        if path in self._methods:
            return self._methods[path]
        found = None
        if self.schema is not None:
            found = self._lookup(path)
        self._methods[path] = found
        return found

    def _lookup(self, path: str) -> tuple[type[Message], type[Message], CallKind, bool] | None:
        from google.protobuf.descriptor_pb2 import MethodOptions

        from rpcctl.schema.registry import CallKind

        assert self.schema is not None
        service, _, name = path.strip("/").rpartition("/")
        try:
            desc = self.schema.pool.FindServiceByName(service).methods_by_name[name]
        except KeyError:
            return None
        no_side_effects = desc.GetOptions().idempotency_level == MethodOptions.NO_SIDE_EFFECTS
        return (
            self.schema.message_class(desc.input_type),
            self.schema.message_class(desc.output_type),
            CallKind.of(desc),
            no_side_effects,
        )

    def decode(self, path: str, data: bytes, codec: str, *, request: bool) -> Any | None:
        """The message as proto3 JSON, or None when the schema cannot decode it."""
        found = self.method(path)
        if found is None:
            return None
        cls = found[0] if request else found[1]
        return _to_json(self.schema, cls, data, codec)

    def details(self, details: tuple[ErrorDetail, ...]) -> list[dict[str, Any]]:
        """Status details as capture JSON: type, base64 value and decoded debug form."""
        from rpcctl.proxy.capture import detail_to_json
        from rpcctl.schema.details import render_detail

        return [detail_to_json(d, render_detail(d, self.schema)) for d in details]


def _to_json(schema: Schema | None, cls: type[Message], data: bytes, codec: str) -> Any | None:
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError

    pool = schema.pool if schema is not None else None
    try:
        if codec == "json":
            msg = json_format.ParseDict(jsonsafe.loads(data), cls(), descriptor_pool=pool)
        else:
            msg = cls.FromString(data)
        return json_format.MessageToDict(msg, descriptor_pool=pool)
    except (DecodeError, ValueError, TypeError, RuntimeError, json_format.Error):
        return None
