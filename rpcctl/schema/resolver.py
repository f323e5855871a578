"""Message types found when they are needed: `Any` type URLs and error details (issue 11 §1).

A schema is loaded once, before the call; a type that shows up later (packed in an `Any` of a
request or an answer, or as a status detail) is looked up then: in the schema's pool, then
through a `TypeSource` (server reflection's `file_containing_symbol`, gRPC's
server-reflection.md), then among the well-known types of the protobuf runtime. What a
source answers goes into the schema's pool, so each type is asked for once per call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from rpcctl.errors import ProtocolError, RpcctlError
from rpcctl.schema.anys import ANY_TYPE, any_values, find_type, type_name, unpack
from rpcctl.wire.metadata import clip
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto
    from google.protobuf.message import Message

    from rpcctl.codec import Codec
    from rpcctl.schema.registry import Schema
    from rpcctl.wire.error_detail import ErrorDetail

# Hostile or huge inputs: at most this many distinct types are asked for in one call.
MAX_LOOKUPS = 256


class TypeSource(Protocol):
    """Where files come from for a type the schema lacks."""

    async def files_for_symbol(self, name: str, known: set[str]) -> list[FileDescriptorProto]:
        """The file defining `name` and those of its imports not in `known`; RpcctlError if none."""


class TypeResolver:
    """Adds the types a call meets to its schema's pool, asking `source` for those it lacks.

    Failures are remembered per resolver (one call): a type nobody could describe is asked
    for once, and `unresolved` says why for each.
    """

    def __init__(self, schema: Schema, source: TypeSource | None = None) -> None:
        self.schema = schema
        self.source = source
        self.unresolved: dict[str, str] = {}
        self.received_as_json: set[str] = set()
        self._bytes_types: dict[str, bool] = {}
        self._added: set[str] = set()
        self._asked = 0

    def knows(self, name: str) -> bool:
        """True if the schema's pool has the message type `name`."""
        return find_type(self.schema.pool, name) is not None

    async def resolve(self, name: str) -> bool:
        """Make `name` known to the pool if anyone can; False (and `unresolved[name]`) if not."""
        if self.knows(name):
            return True
        if name in self.unresolved:
            return False
        reason = "no schema source describes it"
        if self.source is not None and self._asked >= MAX_LOOKUPS:
            reason = f"not asked for: more than {MAX_LOOKUPS} types looked up in one call"
        elif self.source is not None:
            self._asked += 1
            try:
                self._add(await self.source.files_for_symbol(name, self._pool_files()))
            except RpcctlError as exc:
                reason = str(exc)
            if self.knows(name):
                return True
        if self._add_runtime(name):
            return True
        self.unresolved[name] = reason
        return False

    async def resolve_names(self, names: Iterable[str]) -> None:
        """Resolve each of `names` (failures land in `unresolved`)."""
        for name in dict.fromkeys(names):
            await self.resolve(name)

    async def resolve_json(self, value: Any) -> None:
        """Resolve every `"@type"` named in a JSON value (a request about to be parsed)."""
        await self.resolve_names(type_name(url) for url in _json_type_urls(value))

    async def resolve_message(self, message: Message) -> None:
        """Resolve the type of every `Any` in a message, looking inside those it can unpack."""
        stack = [message]
        while stack:
            for packed in any_values(stack.pop()):
                if await self.resolve(type_name(packed.type_url)):
                    inner = unpack(packed, self.schema.pool)
                    if inner is not None:
                        stack.append(inner)

    async def decode(self, codec: Codec, data: bytes, cls: type[Message]) -> Message:
        """A response message with its `Any` types resolved: before decoding JSON, after binary.

        A JSON `Any` of a type nobody describes is kept as received (`json_anys`), and its
        type URL in `received_as_json`; `ProtocolError` (INTERNAL) for anything else wrong.
        """
        value = None
        check_bytes = codec.name == "json" and self._has_bytes(cls.DESCRIPTOR)
        if codec.name == "json" and (check_bytes or b'"@type"' in data):
            from rpcctl.jsonsafe import loads

            try:
                value = loads(data)
            except ValueError:
                value = None  # the codec says what is wrong with it
            await self.resolve_json(value)
        if check_bytes and value is not None:
            self._check_bytes(value, cls)
        try:
            message = codec.decode(data, cls)
        except ProtocolError:
            kept = None if value is None else self._decode_keeping_json(codec, value, cls)
            if kept is None:
                raise
            message = kept
        await self.resolve_message(message)
        return message

    def _has_bytes(self, desc: Any) -> bool:
        """True if messages of `desc` can hold bytes (a bytes field, BytesValue or Any, at any
        depth): only their JSON answers are checked for base64 protobuf would silently drop."""
        from rpcctl.schema.json_bytes import may_hold_bytes

        known = self._bytes_types.get(desc.full_name)
        if known is None:
            known = self._bytes_types[desc.full_name] = may_hold_bytes(desc)
        return known

    def _check_bytes(self, value: Any, cls: type[Message]) -> None:
        from rpcctl.schema.json_bytes import bad_bytes

        bad = bad_bytes(value, cls.DESCRIPTOR, self.schema.pool)
        if bad is not None:
            where, text = bad
            raise ProtocolError(
                Code.INTERNAL,
                f"cannot decode {cls.DESCRIPTOR.full_name} from JSON: field {where} is not base64: "
                f"{json.dumps(clip(str(text)))}",
            )

    def _decode_keeping_json(self, codec: Codec, value: Any, cls: type[Message]) -> Message | None:
        """The message with its unresolvable JSON Anys kept as received; None if it has none."""
        from rpcctl.schema.json_anys import ensure_mark_type, mark_json

        marked, urls = mark_json(value, lambda url: self.knows(type_name(url)))
        if not urls:
            return None
        ensure_mark_type(self.schema.pool)
        message = codec.decode(json.dumps(marked, ensure_ascii=False).encode(), cls)
        self.received_as_json.update(urls)
        return message

    def note(self, url: str) -> str:
        """The one line said on stderr about an `Any` of type `url` printed raw."""
        reason = self.unresolved.get(type_name(url), "no schema describes it")
        if url in self.received_as_json:
            return f"note: {url} shown as received (JSON, not checked against a schema): {reason}"
        return f"note: {url} shown as base64 (@value): {reason}"

    async def resolve_details(self, details: Iterable[ErrorDetail]) -> None:
        """Resolve the types of a status's details, and of the Anys inside them."""
        from google.protobuf import any_pb2

        for detail in details:
            packed = any_pb2.Any(type_url=detail.type_url, value=detail.value)
            if await self.resolve(detail.type_name):
                inner = unpack(packed, self.schema.pool)
                if inner is not None:
                    await self.resolve_message(inner)

    def _pool_files(self) -> set[str]:
        return {fd.name for fd in self.schema.files} | self._added

    def _add(self, files: list[FileDescriptorProto]) -> None:
        """Add files to the pool, dependencies first; a file that does not fit is left out."""
        from rpcctl.schema.registry import runtime_file

        pool = self.schema.pool
        pending = {fd.name: fd for fd in files if not _in_pool(pool, fd.name)}
        tried: set[str] = set()  # runtime files offered once: one that did not fit ends it
        while pending:
            ready = [fd for fd in pending.values() if all(_in_pool(pool, d) for d in fd.dependency)]
            if not ready:
                missing = {d for fd in pending.values() for d in fd.dependency if not _in_pool(pool, d)}
                runtime = [f for f in (runtime_file(d) for d in missing - tried if d not in pending) if f]
                if not runtime:
                    return
                tried.update(missing)
                ready = runtime
            for fd in ready:
                pending.pop(fd.name, None)
                try:
                    pool.Add(fd)
                except (TypeError, ValueError):
                    continue
                self._added.add(fd.name)

    def _add_runtime(self, name: str) -> bool:
        """A well-known type (google.protobuf.*, google.rpc.*) from the protobuf runtime."""
        from rpcctl.schema.details import runtime_descriptor

        desc = runtime_descriptor(name)
        if desc is None:
            return False
        from google.protobuf.descriptor_pb2 import FileDescriptorProto

        files = []
        stack = [desc.file]
        while stack:
            file = stack.pop()
            proto = FileDescriptorProto()
            file.CopyToProto(proto)
            files.append(proto)
            stack.extend(file.dependencies)
        self._add(files)
        return self.knows(name)


def _in_pool(pool: Any, name: str) -> bool:
    try:
        pool.FindFileByName(name)
    except KeyError:
        return False
    return True


def _json_type_urls(value: Any) -> list[str]:
    """Every string under an "@type" key, at any depth (iteratively: input may nest deeply)."""
    urls: list[str] = []
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            url = current.get("@type")
            if isinstance(url, str) and type_name(url) != ANY_TYPE:
                urls.append(url)
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return urls
