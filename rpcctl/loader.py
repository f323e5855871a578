"""Which schema a command uses: files, protosets, reflection or the bundled descriptors.

With no schema option: server reflection, falling back to the bundled descriptors
when the server does not serve it. With files or protosets: those, plus
reflection only when asked with --reflect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rpcctl.call import Call, CallOptions, Channel, MethodInfo
from rpcctl.errors import RpcctlError, RpcError, SchemaError
from rpcctl.wire.metadata import Metadata

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto

    from rpcctl.schema.reflection import ReflectionResult
    from rpcctl.schema.registry import Schema


# Seconds each reflection request may take: schema loading never hangs on a silent server,
# even without --timeout (which bounds the whole command, reflection included).
REFLECTION_TIMEOUT = 10.0
# Servers often list the reflection service without serving its own file; that is no news.
REFLECTION_PREFIX = "grpc.reflection."


@dataclass(frozen=True)
class SchemaRequest:
    """The schema options a command was given."""

    protos: Sequence[Path] = ()
    import_paths: Sequence[Path] = ()
    protosets: Sequence[Path] = ()
    reflect: bool | None = None


@dataclass
class LoadedSchema:
    """A schema and where it came from, with what went wrong on the way."""

    schema: Schema
    sources: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reflection_error: str | None = None
    unresolved_services: list[str] = field(default_factory=list)
    # The error reflection failed with (for a hint at the protocol that works).
    reflection_exception: RpcctlError | None = None

    def lookup_failed(self, exc: SchemaError) -> SchemaError:
        """`exc` with a hint at where else the schema could come from."""
        if self.reflection_error is None:
            return exc
        return SchemaError(
            f"{exc} (not in the bundled schema, and {self.reflection_error[0].lower()}"
            f"{self.reflection_error[1:]})"
        )


def local_files(request: SchemaRequest) -> list[FileDescriptorProto]:
    """The files the local schema options name (.proto files and protosets)."""
    from rpcctl.schema.sources import load_proto_files, load_protoset

    files: list[FileDescriptorProto] = []
    if request.protos:
        files.extend(load_proto_files(list(request.protos), list(request.import_paths)))
    for path in request.protosets:
        files.extend(load_protoset(path))
    return files


async def load_schema(
    request: SchemaRequest, channel: Channel | None, metadata: Metadata | None = None
) -> LoadedSchema:
    """Load the schema the options ask for, asking the server through `channel` if needed."""
    from rpcctl.schema.registry import Schema
    from rpcctl.schema.sources import bundled_files

    explicit = bool(request.protos or request.protosets)
    files = local_files(request)
    sources = []
    if request.protos:
        sources.append("proto files")
    if request.protosets:
        sources.append("protosets")
    warnings: list[str] = []
    reflection_error = None
    reflection_exception: RpcctlError | None = None
    unresolved: list[str] = []
    use_reflection = request.reflect if request.reflect is not None else not explicit
    if use_reflection and channel is None:
        if request.reflect:
            raise SchemaError("--reflect needs a TARGET to ask")
        use_reflection = False
    if use_reflection and channel is not None:
        try:
            reflected = await reflect_schema(channel, metadata or Metadata())
        except (SchemaError, RpcError) as exc:
            # Asked for, a failure is the answer; by default, the bundled schema is the fallback.
            if request.reflect or explicit:
                raise
            reflection_exception = exc
            reflection_error = (
                str(exc) if isinstance(exc, SchemaError) else f"server reflection failed: {exc}"
            )
        else:
            files = _merge_files(files, list(reflected.files))
            sources.append("server reflection")
            unresolved = [name for name, _ in reflected.failures]
            warnings.extend(
                f"service {name} could not be resolved: {reason}"
                for name, reason in reflected.failures
                if not name.startswith(REFLECTION_PREFIX)
            )
    if not files:
        files = _merge_files(files, bundled_files())
        sources.append("bundled descriptors")
    return LoadedSchema(Schema(files), sources, warnings, reflection_error, unresolved, reflection_exception)


async def reflect_schema(channel: Channel, metadata: Metadata) -> ReflectionResult:
    """Ask the server for its schema over the channel's protocol."""
    from rpcctl.schema.reflection import reflect

    async def open_stream(path: str) -> _OneRequestStream:
        return _OneRequestStream(channel, path, metadata)

    return await reflect(open_stream)


class _OneRequestStream:
    """The reflection client's stream as one call per request (rpcctl's own choice).

    Each request opens a bidi call, sends its one message, half-closes and reads the answer:
    the same on every protocol and HTTP version (HTTP/1.1 carries a bidi stream only
    half-duplex, and some servers reset a stream whose client has not half-closed). Each call
    is bounded by `REFLECTION_TIMEOUT`, so a silent server cannot hang schema loading.
    """

    def __init__(self, channel: Channel, path: str, metadata: Metadata) -> None:
        from rpcctl.schema.registry import CallKind

        self._channel = channel
        self._method = MethodInfo(path=path, kind=CallKind.BIDI)
        self._options = CallOptions(metadata=metadata, codec="proto", timeout=REFLECTION_TIMEOUT)
        self._call: Call | None = None

    async def send(self, data: bytes) -> None:
        await self.aclose()
        self._call = await self._channel.open(self._method, self._options)
        await self._call.send(data)
        await self._call.close_send()

    async def receive(self) -> bytes | None:
        if self._call is None:
            return None
        return await self._call.receive()

    async def aclose(self) -> None:
        call, self._call = self._call, None
        if call is None:
            return
        task = asyncio.current_task()
        if call.status is None and task is not None and task.cancelling():
            # The command is being cancelled (--timeout, Ctrl-C): waiting for the server's end
            # of the stream would hold the cancellation up for as long as the server is silent.
            await call.cancel()
            return
        try:
            while await call.receive() is not None:
                pass
        except RpcError:
            await call.cancel()


def _merge_files(
    first: list[FileDescriptorProto], second: list[FileDescriptorProto]
) -> list[FileDescriptorProto]:
    seen = {f.name for f in first}
    return first + [f for f in second if f.name not in seen]
