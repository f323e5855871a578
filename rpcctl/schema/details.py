"""Render the details of an RPC status (google.protobuf.Any values) as JSON objects."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rpcctl.wire.error_detail import ErrorDetail

if TYPE_CHECKING:
    from google.protobuf.descriptor import Descriptor
    from google.protobuf.message import Message

    from rpcctl.schema.registry import Schema

#: The standard error detail types of google/rpc/error_details.proto.
GOOGLE_RPC_DETAILS = frozenset(
    f"google.rpc.{name}"
    for name in (
        "ErrorInfo",
        "RetryInfo",
        "DebugInfo",
        "QuotaFailure",
        "PreconditionFailure",
        "BadRequest",
        "RequestInfo",
        "ResourceInfo",
        "Help",
        "LocalizedMessage",
    )
)

# Runtime modules whose messages may show up as details without any schema.
_RUNTIME_MODULES = {
    "google.rpc.": ("google.rpc.error_details_pb2", "google.rpc.status_pb2"),
    "google.protobuf.": (
        "google.protobuf.wrappers_pb2",
        "google.protobuf.struct_pb2",
        "google.protobuf.duration_pb2",
        "google.protobuf.timestamp_pb2",
        "google.protobuf.empty_pb2",
        "google.protobuf.field_mask_pb2",
    ),
}


def runtime_descriptor(name: str) -> Descriptor | None:
    """A google.protobuf.* or google.rpc.* message type of the protobuf runtime, if it has it."""
    from google.protobuf import descriptor_pool

    for prefix, modules in _RUNTIME_MODULES.items():
        if not name.startswith(prefix):
            continue
        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError:
                continue
        try:
            return descriptor_pool.Default().FindMessageTypeByName(name)
        except KeyError:
            return None
    return None


def _message_class(name: str, schema: Schema | None) -> tuple[type[Message], Any] | None:
    """The class for a type name and the pool that resolves its Anys."""
    if schema is not None:
        try:
            desc = schema.pool.FindMessageTypeByName(name)
        except KeyError:
            desc = None
        if desc is not None:
            return schema.message_class(desc), schema.pool
    desc = runtime_descriptor(name)
    if desc is None:
        return None
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(desc), None


def render_detail(detail: ErrorDetail, schema: Schema | None) -> dict[str, Any]:
    """A detail as proto3 JSON `{"@type": url, ...fields}`; grpcurl's `{"@type", "@value"}` if unknown.

    Anys inside a known detail whose types are unknown get the same raw form.
    """
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError

    from rpcctl.schema.anys import message_to_dict, raw_any

    raw = raw_any(detail.type_url, detail.value)
    found = _message_class(detail.type_name, schema)
    if found is None:
        return raw
    cls, pool = found
    try:
        msg = cls.FromString(detail.value)
        body, _ = message_to_dict(msg, False, pool)
    except (DecodeError, ValueError, TypeError, json_format.Error):
        return raw
    if isinstance(body, dict):
        return {"@type": detail.type_url, **body}
    # Well-known types with a non-object JSON form nest it under "value", as Any's JSON does.
    return {"@type": detail.type_url, "value": body}
