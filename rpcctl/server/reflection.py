"""gRPC server reflection, v1 and v1alpha, for the served schema (server-reflection.md, reflection.proto).

One bidi stream answers each request in order on the same stream. File answers carry the
requested file first, then its transitive imports breadth-first, each import sent at most
once per stream (the requested file itself is always sent). An unknown name gets
``error_response{error_code: 5}`` and the stream stays open. ``list_services`` names the
schema's services and the built-in ones, reflection included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from google.protobuf.descriptor_pb2 import FileDescriptorProto

from rpcctl.schema.registry import Schema
from rpcctl.server.builtin_schema import BUILTIN_SERVICES, REFLECTION_V1, REFLECTION_V1ALPHA, builtin_schema
from rpcctl.server.typed import method_handler
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.server.call import Handler, ServerCall

METHOD = "ServerReflectionInfo"


class ReflectionIndex:
    """Files and symbols of several schemas, the first schema winning on a shared file name."""

    def __init__(self, schemas: Sequence[Schema], services: Sequence[str]) -> None:
        self._schemas = tuple(schemas)
        self.files: dict[str, FileDescriptorProto] = {}
        for schema in self._schemas:
            for fd in schema.files:
                self.files.setdefault(fd.name, fd)
        self.services = tuple(dict.fromkeys(services))

    def file_containing_symbol(self, symbol: str) -> str | None:
        """The file defining a message, enum, service, method or field; None if unknown."""
        for schema in self._schemas:
            try:
                return str(schema.pool.FindFileContainingSymbol(symbol).name)
            except KeyError:
                continue
        return None

    def file_containing_extension(self, containing_type: str, number: int) -> str | None:
        """The file declaring extension ``number`` of ``containing_type``; None if unknown."""
        for schema in self._schemas:
            try:
                message = schema.pool.FindMessageTypeByName(containing_type)
                return str(schema.pool.FindExtensionByNumber(message, number).file.name)
            except KeyError:
                continue
        return None

    def extension_numbers(self, containing_type: str) -> list[int] | None:
        """The extension numbers known for a message type; None if the type is unknown."""
        for schema in self._schemas:
            try:
                message = schema.pool.FindMessageTypeByName(containing_type)
            except KeyError:
                continue
            return sorted(ext.number for ext in schema.pool.FindAllExtensions(message))
        return None

    def closure(self, name: str, sent: set[str]) -> list[bytes]:
        """The serialized file ``name`` and those of its imports not yet in ``sent``."""
        out: list[bytes] = []
        queue = [name]
        while queue:
            current = queue.pop(0)
            fd = self.files.get(current)
            if fd is None:
                continue
            if not out or current not in sent:
                sent.add(current)
                out.append(fd.SerializeToString())
            queue.extend(dep for dep in fd.dependency if dep not in sent)
        return out


def _answer(index: ReflectionIndex, request: Any, response: Any, sent: set[str]) -> None:
    kind = request.WhichOneof("message_request")
    if kind == "list_services":
        for service in index.services:
            response.list_services_response.service.add(name=service)
        return
    name: str | None = None
    missing = ""
    if kind == "file_by_filename":
        name = request.file_by_filename if request.file_by_filename in index.files else None
        missing = f"file {request.file_by_filename!r} not found"
    elif kind == "file_containing_symbol":
        name = index.file_containing_symbol(request.file_containing_symbol)
        missing = f"symbol {request.file_containing_symbol!r} not found"
    elif kind == "file_containing_extension":
        ext = request.file_containing_extension
        name = index.file_containing_extension(ext.containing_type, ext.extension_number)
        missing = f"extension {ext.extension_number} of {ext.containing_type!r} not found"
    elif kind == "all_extension_numbers_of_type":
        numbers = index.extension_numbers(request.all_extension_numbers_of_type)
        if numbers is not None:
            response.all_extension_numbers_response.base_type_name = request.all_extension_numbers_of_type
            response.all_extension_numbers_response.extension_number.extend(numbers)
            return
        missing = f"type {request.all_extension_numbers_of_type!r} not found"
    else:
        response.error_response.error_code = int(Code.INVALID_ARGUMENT)
        response.error_response.error_message = "empty or unknown reflection request"
        return
    if name is None:
        response.error_response.error_code = int(Code.NOT_FOUND)
        response.error_response.error_message = missing
        return
    response.file_descriptor_response.file_descriptor_proto.extend(index.closure(name, sent))


def reflection_handlers(schema: Schema | None, services: Sequence[str] = ()) -> list[Handler]:
    """Handlers for ServerReflectionInfo v1 and v1alpha over ``schema`` and the built-ins.

    ``services`` names the services to list; by default the schema's and the built-ins.
    """
    builtins = builtin_schema()
    schemas = [builtins] if schema is None else [schema, builtins]
    names = list(services)
    if not names and schema is not None:
        names = [s.full_name for s in schema.services()]
    index = ReflectionIndex(schemas, [*names, *BUILTIN_SERVICES])
    handlers = []
    for service in (REFLECTION_V1, REFLECTION_V1ALPHA):
        method = builtins.pool.FindServiceByName(service).FindMethodByName(METHOD)
        response_class = builtins.message_class(method.output_type)

        def make(response_class: Any) -> Any:
            async def info(requests: AsyncIterator[Any], call: ServerCall) -> AsyncIterator[Any]:
                sent: set[str] = set()
                async for request in requests:
                    response = response_class(valid_host=request.host)
                    response.original_request.CopyFrom(request)
                    _answer(index, request, response, sent)
                    yield response

            return info

        handlers.append(method_handler(method, make(response_class), schema=builtins))
    return handlers
