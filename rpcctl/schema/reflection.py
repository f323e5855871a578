"""A sans-transport gRPC server reflection client (gRPC's server-reflection.md, reflection.proto).

The caller opens the bidi stream (over any protocol) and hands it over as a
`ReflectionStream`; this module speaks the reflection protocol on it: list the
services, then fetch the file of each and the full closure of its imports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from google.protobuf.descriptor_pb2 import FileDescriptorProto

from rpcctl.errors import RpcError, SchemaError
from rpcctl.schema.registry import MAX_FILES, MAX_TOTAL_BYTES, Schema, runtime_file
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from rpcctl.schema.reflection_extensions import Budget

V1_PATH = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
V1ALPHA_PATH = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
# A v1 failure that v1alpha would only repeat, after as long a wait.
_FINAL = frozenset({Code.DEADLINE_EXCEEDED, Code.CANCELLED})
SCHEMA_OPTIONS_HINT = "give the schema with --proto or --protoset"
NOT_ENABLED = f"server reflection is not enabled on the server; {SCHEMA_OPTIONS_HINT}"


class ReflectionStream(Protocol):
    """One bidi reflection stream, carrying serialized messages."""

    async def send(self, data: bytes) -> None:
        """Send one serialized ServerReflectionRequest."""

    async def receive(self) -> bytes | None:
        """The next serialized response; None when the stream ended OK; RpcError otherwise."""

    async def aclose(self) -> None:
        """Cancel or finish the stream and release it."""


StreamOpener = Callable[[str], Awaitable[ReflectionStream]]


@dataclass(frozen=True)
class ReflectionResult:
    """What reflection found: the files (dependencies first), services and failures."""

    files: tuple[FileDescriptorProto, ...]
    services: tuple[str, ...]
    failures: tuple[tuple[str, str], ...]  # (service, reason)
    path: str = V1_PATH  # the reflection method that answered


class _Failure(Exception):
    """A service's files could not be resolved; the message is the reason."""


class _ErrorResponse(RpcError):
    """The server answered a request with an error_response (the stream is still fine)."""


class _Session:
    """A reflection stream: one request, then its reply; reopened once if it breaks."""

    def __init__(self, open_stream: StreamOpener, host: str, pb: Any) -> None:
        self._open = open_stream
        self._host = host
        self._pb = pb
        self.path = V1_PATH
        self._stream: ReflectionStream | None = None

    async def start(self) -> list[str]:
        """Open the stream (v1, else v1alpha) and list the services.

        Any failure of v1 (UNIMPLEMENTED, but also UNAVAILABLE or UNAUTHENTICATED from a proxy
        that knows only v1alpha) tries v1alpha; if that fails too, v1's error is the answer
        unless v1alpha's says more (v1 UNIMPLEMENTED).
        """
        request = self._pb.ServerReflectionRequest(host=self._host, list_services="*")
        try:
            reply = await self._exchange(request)
            _raise_error_response(reply)
        except (RpcError, SchemaError) as exc:
            if isinstance(exc, RpcError) and exc.code in _FINAL:
                raise
            await self.close()
            self.path = V1ALPHA_PATH
            try:
                reply = await self._exchange(request)
                _raise_error_response(reply)
            except RpcError as again:
                if again.code is Code.UNIMPLEMENTED and _unimplemented(exc):
                    raise SchemaError(NOT_ENABLED) from again
                if _unimplemented(exc):
                    raise
                raise exc from again
        if not reply.HasField("list_services_response"):
            raise SchemaError("reflection: wrong response type to list_services")
        return [s.name for s in reply.list_services_response.service]

    async def extension_numbers(self, type_name: str) -> list[int]:
        """The numbers of the extensions of a message (all_extension_numbers_of_type)."""
        reply = await self._exchange(
            self._pb.ServerReflectionRequest(host=self._host, all_extension_numbers_of_type=type_name)
        )
        _raise_error_response(reply)
        if not reply.HasField("all_extension_numbers_response"):
            raise SchemaError("reflection: wrong response type to all_extension_numbers_of_type")
        return list(reply.all_extension_numbers_response.extension_number)

    async def extension_files(self, type_name: str, number: int) -> list[FileDescriptorProto]:
        """The file declaring one extension (file_containing_extension); SchemaError (the
        extension is skipped, not the service) for an answer that does not decode."""
        request = self._pb.ExtensionRequest(containing_type=type_name, extension_number=number)
        try:
            return await self.files(file_containing_extension=request)
        except _Failure as exc:
            raise SchemaError(f"reflection: extension {number} of {type_name}: {exc}") from exc

    async def files(self, **request: object) -> list[FileDescriptorProto]:
        """The file descriptors answering one file_by_filename/file_containing_symbol."""
        message = self._pb.ServerReflectionRequest(host=self._host, **request)
        try:
            reply = await self._exchange(message)
        except RpcError:
            # A broken stream loses the server's "already sent" state: reopen it once.
            await self.close()
            reply = await self._exchange(message)
        _raise_error_response(reply)
        if not reply.HasField("file_descriptor_response"):
            raise SchemaError("reflection: wrong response type to a file request")
        out = []
        for blob in reply.file_descriptor_response.file_descriptor_proto:
            try:
                out.append(FileDescriptorProto.FromString(blob))
            except Exception as exc:  # DecodeError; garbage from the server
                raise _Failure(f"undecodable file descriptor: {exc}") from exc
        return out

    async def _exchange(self, request: Message) -> Any:
        if self._stream is None:
            self._stream = await self._open(self.path)
        await self._stream.send(request.SerializeToString())
        data = await self._stream.receive()
        if data is None:
            await self.close()
            raise RpcError(Code.INTERNAL, "reflection stream ended without a reply")
        try:
            return self._pb.ServerReflectionResponse.FromString(data)
        except Exception as exc:  # DecodeError
            raise SchemaError(f"reflection: undecodable response: {exc}") from exc

    async def close(self) -> None:
        """Close the current stream, if any."""
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()


def _unimplemented(exc: Exception) -> bool:
    return isinstance(exc, RpcError) and exc.code is Code.UNIMPLEMENTED


def _raise_error_response(reply: Any) -> None:
    if reply.HasField("error_response"):
        err = reply.error_response
        # grpcreflect-go treats error_code 0 as INTERNAL.
        code = Code.from_number(err.error_code) if err.error_code else Code.INTERNAL
        raise _ErrorResponse(code, err.error_message)


class _Closure:
    """The files received so far (first answer wins) and their byte budget."""

    def __init__(self) -> None:
        self.files: dict[str, FileDescriptorProto] = {}
        self.size = 0

    def add(self, fd: FileDescriptorProto) -> None:
        if fd.name in self.files:
            return
        self.size += fd.ByteSize()
        if len(self.files) >= MAX_FILES or self.size > MAX_TOTAL_BYTES:
            raise SchemaError(
                f"reflection: the server sent more than {MAX_FILES} files or {MAX_TOTAL_BYTES} bytes"
            )
        self.files[fd.name] = fd


def _defines(fd: FileDescriptorProto, service: str) -> bool:
    prefix = f"{fd.package}." if fd.package else ""
    return any(prefix + s.name == service for s in fd.service)


async def _resolve(session: _Session, closure: _Closure, service: str) -> list[str]:
    """Fetch a service's file and all its imports; the names of that closure."""
    try:
        answer = await session.files(file_containing_symbol=service)
    except _ErrorResponse as exc:
        raise _Failure(f"file_containing_symbol: {exc.code.name}: {exc.message}") from exc
    for fd in answer:
        closure.add(fd)
    # The defining file is not always first, and a server may skip files it already sent.
    roots = [fd.name for fd in answer if _defines(fd, service)] or [
        fd.name for fd in closure.files.values() if _defines(fd, service)
    ]
    if not roots:
        raise _Failure("the server's answer does not define the service")
    return await _with_imports(session, closure, roots)


async def _with_extensions(
    session: _Session, closure: _Closure, names: list[str], budget: Budget
) -> list[str]:
    """`names` and the files (with their imports) that extend their messages; a file whose
    imports cannot be had is left out. `budget` bounds the requests of the whole reflection."""
    from rpcctl.schema.reflection_extensions import extension_files

    scope = [closure.files[n] for n in names]
    found = await extension_files(session, closure.files.values(), scope, budget)
    out = list(names)
    for fd in found:
        closure.add(fd)
    for fd in found:
        if fd.name in out:
            continue
        try:
            more = [n for n in await _with_imports(session, closure, [fd.name]) if n not in out]
            Schema([closure.files[n] for n in out + more])  # must build with the service's files
        except (_Failure, SchemaError):
            continue
        out += more
    return out


async def _with_imports(session: _Session, closure: _Closure, roots: list[str]) -> list[str]:
    """The files `roots` and all their imports, fetching those not yet received."""
    needed: list[str] = []
    queue = list(roots)
    while queue:
        name = queue.pop()
        if name in needed:
            continue
        needed.append(name)
        for dep in closure.files[name].dependency:
            if dep not in closure.files:
                await _fetch(session, closure, dep)
            queue.append(dep)
    return needed


async def _fetch(session: _Session, closure: _Closure, name: str) -> None:
    try:
        answer = await session.files(file_by_filename=name)
    except _ErrorResponse as exc:
        fallback = runtime_file(name) if exc.code is Code.NOT_FOUND else None
        if fallback is None:
            raise _Failure(f"import {name!r}: {exc.code.name}: {exc.message}") from exc
        answer = [fallback]
    for fd in answer:
        closure.add(fd)
    if name not in closure.files:
        raise _Failure(f"import {name!r}: the server's answer does not contain it")


async def reflect(open_stream: StreamOpener, host: str = "") -> ReflectionResult:
    """List a server's services and fetch the descriptors of each, with all their imports."""
    from grpc_reflection.v1alpha import reflection_pb2  # imports grpc: keep it lazy

    from rpcctl.schema.reflection_extensions import Budget

    session = _Session(open_stream, host, reflection_pb2)
    closure = _Closure()
    budget = Budget()
    kept: dict[str, list[str]] = {}
    failures: list[tuple[str, str]] = []
    try:
        services = await session.start()
        for service in services:
            try:
                kept[service] = await _with_extensions(
                    session, closure, await _resolve(session, closure, service), budget
                )
            except _Failure as exc:
                failures.append((service, str(exc)))
    finally:
        await session.close()
    files = _validated(closure, kept, failures)
    return ReflectionResult(
        files=files, services=tuple(sorted(services)), failures=tuple(failures), path=session.path
    )


async def reflect_symbol(
    open_stream: StreamOpener, symbol: str, known: set[str], path: str = V1_PATH, host: str = ""
) -> list[FileDescriptorProto]:
    """The file that defines `symbol` and those of its imports not in `known` (file names).

    One `file_containing_symbol` request, then `file_by_filename` for imports the answer
    left out. SchemaError when the server does not know the symbol.
    """
    from grpc_reflection.v1alpha import reflection_pb2

    session = _Session(open_stream, host, reflection_pb2)
    session.path = path
    closure = _Closure()
    try:
        try:
            answer = await session.files(file_containing_symbol=symbol)
        except _ErrorResponse as exc:
            if exc.code is Code.NOT_FOUND:
                raise SchemaError("the server's reflection does not know it") from exc
            raise SchemaError(f"reflection: {symbol}: {exc.code.name}: {exc.message}") from exc
        except _Failure as exc:
            raise SchemaError(f"reflection: {symbol}: {exc}") from exc
        for fd in answer:
            closure.add(fd)
        queue = [dep for fd in answer for dep in fd.dependency]
        while queue:
            name = queue.pop()
            if name in closure.files or name in known:
                continue
            try:
                await _fetch(session, closure, name)
            except _Failure as exc:
                raise SchemaError(f"reflection: {symbol}: {exc}") from exc
            queue.extend(closure.files[name].dependency)
    finally:
        await session.close()
    return list(closure.files.values())


def _validated(
    closure: _Closure, kept: dict[str, list[str]], failures: list[tuple[str, str]]
) -> tuple[FileDescriptorProto, ...]:
    """The kept services' files in dependency order; a service that does not build fails."""

    def build(names: set[str]) -> Schema:
        return Schema([closure.files[n] for n in sorted(names)])

    wanted = {name for names in kept.values() for name in names}
    try:
        return build(wanted).files
    except SchemaError:
        pass
    good: set[str] = set()
    for service, names in kept.items():
        try:
            build(set(names))
        except SchemaError as exc:
            failures.append((service, str(exc)))
            continue
        good.update(names)
    try:
        return build(good).files
    except SchemaError as exc:  # services that build alone but conflict together
        raise SchemaError(f"reflection: inconsistent descriptors: {exc}") from exc
