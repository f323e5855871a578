"""Which schema a command uses: files, protosets, reflection or the bundled descriptors.

With no schema option: server reflection (v1, then v1alpha on any v1 failure), falling
back to the bundled descriptors when the server does not serve it; that fallback is marked
(`LoadedSchema.fallback`) for the commands to say so or refuse it. With files or protosets:
those, plus reflection for the rest only when asked with --reflect (local files first).
A reflected schema is cached per target and reflection headers (`schema.cache`).
"""

from __future__ import annotations

import asyncio
import re
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
    from rpcctl.transport.target import ChannelSettings


# Seconds each reflection request may take: schema loading never hangs on a silent server,
# even without --timeout (which bounds the whole command, reflection included).
REFLECTION_TIMEOUT = 10.0
# Servers often list the reflection service without serving its own file; that is no news.
REFLECTION_PREFIX = "grpc.reflection."
SCHEMA_HINT = (
    "give the schema with --proto or --protoset, or try --protocol grpc if the server speaks native gRPC"
)


# An unknown-name error with no hint of its own, and how many services to name instead.
_PLAIN_UNKNOWN = r"unknown (method|symbol|service) '[^']*'"  # re caches it: a failed lookup only
_LISTED = 8


class ReflectionFailed(RpcctlError):
    """Reflection failed and nothing else describes the server (exit 1, not bad input)."""


@dataclass(frozen=True)
class SchemaRequest:
    """The schema options a command was given."""

    protos: Sequence[Path] = ()
    import_paths: Sequence[Path] = ()
    protosets: Sequence[Path] = ()
    reflect: bool | None = None
    cache: bool = True  # False: ask the server again (the answer still refreshes the cache)


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
    # True when reflection failed and the bundled descriptors stand in for the server's schema.
    fallback: bool = False
    from_cache: bool = False
    # Where types the schema lacks are asked for (reflection), if anywhere.
    type_source: ReflectionTypeSource | None = None

    def lookup_failed(self, exc: SchemaError) -> SchemaError:
        """`exc` with the reason reflection failed, when a failed reflection is why; with the
        services a reflecting server has, when `exc` has no better hint."""
        if self.reflection_error is None:
            return self._with_services(exc)
        if self.fallback:
            return SchemaError(f"{exc}: not in the bundled schema, and {self._reason()}")
        return SchemaError(f"{exc} ({self.reflection_error})")

    def _with_services(self, exc: SchemaError) -> SchemaError:
        if "server reflection" not in " ".join(self.sources) or not re.fullmatch(_PLAIN_UNKNOWN, str(exc)):
            return exc
        names = sorted(
            s.full_name for s in self.schema.services() if not s.full_name.startswith(REFLECTION_PREFIX)
        )
        if not names:
            return exc
        listed = ", ".join(names[:_LISTED]) + (
            f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
        )
        return SchemaError(f"{exc}; the server has {listed}")

    def refuse_fallback(self) -> None:
        """For commands that show the schema: a failed reflection is the answer, not the bundle."""
        if self.fallback:
            raise ReflectionFailed(self._reason())

    def fallback_note(self, service: str) -> str | None:
        """The one line a call says when it uses the bundled schema."""
        if not self.fallback:
            return None
        reason = _lower_first(self.reflection_error or "")
        return f"schema: bundled {service.rsplit('.', 1)[-1]}; {reason}"

    def _reason(self) -> str:
        reason = _lower_first(self.reflection_error or "reflection failed")
        return reason if "--proto" in reason else f"{reason}; {SCHEMA_HINT}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


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
    """Load the schema the options ask for; `metadata` goes with reflection requests only."""
    from rpcctl.schema.registry import Schema
    from rpcctl.schema.sources import bundled_files

    explicit = bool(request.protos or request.protosets)
    files = local_files(request)
    loaded = LoadedSchema(Schema([]))
    if request.protos:
        loaded.sources.append("proto files")
    if request.protosets:
        loaded.sources.append("protosets")
    use_reflection = request.reflect if request.reflect is not None else not explicit
    if use_reflection and channel is None:
        if request.reflect:
            raise SchemaError("--reflect needs a TARGET to ask")
        use_reflection = False
    if use_reflection and channel is not None:
        metadata = metadata or Metadata()
        try:
            reflected, loaded.from_cache, key = await _reflected(channel, metadata, request.cache)
        except (SchemaError, RpcError) as exc:
            # Asked for alone, a failure is the answer; beside local files, those are used and
            # the failure is said; by default, the bundled schema stands in (marked fallback).
            if request.reflect and not explicit:
                if isinstance(exc, SchemaError):
                    raise ReflectionFailed(str(exc)) from exc  # the server's answer, not bad input
                raise
            loaded.reflection_error = (
                str(exc) if isinstance(exc, SchemaError) else f"server reflection failed: {exc}"
            )
            if explicit:
                from rpcctl.schema.reflection import SCHEMA_OPTIONS_HINT

                reason = loaded.reflection_error.removesuffix(f"; {SCHEMA_OPTIONS_HINT}")
                loaded.warnings.append(f"{reason}; using the local schema files only")
            else:
                loaded.reflection_exception = exc
        else:
            files = _merge_files(files, list(reflected.files))
            loaded.sources.append("server reflection (cached)" if loaded.from_cache else "server reflection")
            loaded.type_source = ReflectionTypeSource(channel, metadata, reflected.path, key)
            loaded.unresolved_services = [name for name, _ in reflected.failures]
            loaded.warnings.extend(
                f"service {name} could not be resolved: {reason}"
                for name, reason in reflected.failures
                if not name.startswith(REFLECTION_PREFIX)
            )
    if not files:
        files = _merge_files(files, bundled_files())
        loaded.sources.append("bundled descriptors")
        loaded.fallback = loaded.reflection_error is not None
    loaded.schema = Schema(files)
    return loaded


async def _reflected(
    channel: Channel, metadata: Metadata, use_cache: bool
) -> tuple[ReflectionResult, bool, str | None]:
    """The server's schema from the cache (True) or by reflection (False, then cached); the key."""
    from rpcctl.schema.cache import ReflectedEntry, ReflectionCache
    from rpcctl.schema.reflection import ReflectionResult
    from rpcctl.schema.sources import parse_protoset

    settings = getattr(channel, "settings", None)
    key = None if settings is None else reflection_cache_key(settings, metadata)
    cache = ReflectionCache()
    entry = cache.get(key) if key is not None and use_cache else None
    if entry is not None:
        try:
            files = parse_protoset(entry.protoset, "cached reflection")
        except SchemaError:
            entry = None  # a corrupt entry is replaced below
        else:
            return ReflectionResult(tuple(files), entry.services, entry.failures, entry.path), True, key
    result = await reflect_schema(channel, metadata)
    if key is not None:
        from google.protobuf.descriptor_pb2 import FileDescriptorSet

        blob = FileDescriptorSet(file=result.files).SerializeToString()
        cache.put(key, ReflectedEntry(blob, result.services, result.failures, result.path))
    return result, False, key


def reflection_cache_key(settings: ChannelSettings, metadata: Metadata) -> str:
    """The reflection cache's key for a channel's settings and the reflection headers
    (shell completion reads the cache with it, without a channel)."""
    from rpcctl.schema.cache import reflection_key

    headers = [(name, _text(value)) for name, value in metadata.items()]
    return reflection_key(f"{settings.target!r} {settings.authority}", headers)


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


class ReflectionTypeSource:
    """Types the schema lacks, asked of the server by `file_containing_symbol` (a `TypeSource`)."""

    def __init__(self, channel: Channel, metadata: Metadata, path: str, cache_key: str | None = None) -> None:
        self._channel = channel
        self._metadata = metadata
        self._path = path
        self._cache_key = cache_key

    async def files_for_symbol(self, name: str, known: set[str]) -> list[FileDescriptorProto]:
        """The file defining `name` and the imports of it not in `known`."""
        from rpcctl.schema.reflection import reflect_symbol

        async def open_stream(path: str) -> _OneRequestStream:
            return _OneRequestStream(self._channel, path, self._metadata)

        try:
            files = await reflect_symbol(open_stream, name, known, self._path)
        except RpcError as exc:
            raise SchemaError(f"reflection: {name}: {exc.code.name}: {exc.message}") from exc
        if self._cache_key is not None and files:
            # The next call to this target finds the type without asking.
            from google.protobuf.descriptor_pb2 import FileDescriptorSet

            from rpcctl.schema.cache import ReflectionCache

            ReflectionCache().extend(self._cache_key, FileDescriptorSet(file=files).SerializeToString())
        return files


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
