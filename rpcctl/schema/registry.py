"""A schema: a set of file descriptors loaded into a private pool, with symbol lookup."""

from __future__ import annotations

import enum
import importlib
import re
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Union

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)
from google.protobuf.descriptor_pb2 import FileDescriptorProto

from rpcctl.errors import SchemaError
from rpcctl.wire.metadata import clip

if TYPE_CHECKING:
    from google.protobuf.message import Message


#: Caps on untrusted descriptor sets (reflection answers, protosets).
MAX_FILES = 4096
MAX_TOTAL_BYTES = 64 * 1024 * 1024

# Only these runtime modules are imported to supply a missing well-known dependency.
# (a string: `re` compiles it when a file is missing, not at every start)
_RUNTIME_FILE = r"^google/(?:protobuf|rpc)/[a-z_]+\.proto$"

# id(pool) -> the files of the live Schema that owns that pool (pools are not weak-referenceable).
_SOURCES: dict[int, dict[str, FileDescriptorProto]] = {}

Symbol = Union[Descriptor, EnumDescriptor, ServiceDescriptor, MethodDescriptor, FieldDescriptor]  # noqa: UP007


class CallKind(enum.Enum):
    """The four shapes of an RPC."""

    UNARY = "unary"
    SERVER_STREAM = "server streaming"
    CLIENT_STREAM = "client streaming"
    BIDI = "bidi streaming"

    @classmethod
    def of(cls, method: MethodDescriptor) -> CallKind:
        """The call kind of a method descriptor."""
        return {
            (False, False): cls.UNARY,
            (False, True): cls.SERVER_STREAM,
            (True, False): cls.CLIENT_STREAM,
            (True, True): cls.BIDI,
        }[(bool(method.client_streaming), bool(method.server_streaming))]

    @property
    def client_streams(self) -> bool:
        """True when the client sends a stream of messages."""
        return self in (CallKind.CLIENT_STREAM, CallKind.BIDI)

    @property
    def server_streams(self) -> bool:
        """True when the server answers with a stream of messages."""
        return self in (CallKind.SERVER_STREAM, CallKind.BIDI)

    @property
    def label(self) -> str:
        """A human-readable name: "unary", "server streaming", ..."""
        return str(self.value)


def runtime_file(name: str) -> FileDescriptorProto | None:
    """The descriptor of a well-known .proto file shipped with the protobuf runtime, if any."""
    if not re.match(_RUNTIME_FILE, name):
        return None
    module = name[: -len(".proto")].replace("/", ".") + "_pb2"
    try:
        importlib.import_module(module)
        found = descriptor_pool.Default().FindFileByName(name)
    except (ImportError, KeyError):
        return None
    proto = FileDescriptorProto()
    found.CopyToProto(proto)
    return proto


def file_proto(file: FileDescriptor) -> FileDescriptorProto:
    """The FileDescriptorProto a file was built from, with its source info when it had one.

    The upb runtime drops SourceCodeInfo from `serialized_pb`, so a Schema remembers its
    inputs; descriptors from any other pool fall back to `CopyToProto`.
    """
    files = _SOURCES.get(id(file.pool))
    if files is not None and file.name in files:
        return files[file.name]
    proto = FileDescriptorProto()
    file.CopyToProto(proto)
    return proto


def method_path(method: MethodDescriptor) -> str:
    """The HTTP path of a method: "/pkg.Svc/Method"."""
    return f"/{method.containing_service.full_name}/{method.name}"


def _same_definitions(a: FileDescriptorProto, b: FileDescriptorProto) -> bool:
    """True if two files define the same things; comments and locations do not count."""

    def bare(fd: FileDescriptorProto) -> bytes:
        if not fd.HasField("source_code_info"):
            return fd.SerializeToString(deterministic=True)
        copy = FileDescriptorProto()
        copy.CopyFrom(fd)
        copy.ClearField("source_code_info")
        return copy.SerializeToString(deterministic=True)

    return bare(a) == bare(b)


def _topological(files: Sequence[FileDescriptorProto]) -> list[FileDescriptorProto]:
    """Dedupe files by name, add missing runtime dependencies, order dependencies first."""
    if len(files) > MAX_FILES:
        raise SchemaError(f"too many descriptor files ({len(files)} > {MAX_FILES})")
    total = 0
    by_name: dict[str, FileDescriptorProto] = {}
    for fd in files:
        total += fd.ByteSize()
        if total > MAX_TOTAL_BYTES:
            raise SchemaError(f"descriptor set larger than {MAX_TOTAL_BYTES} bytes")
        seen = by_name.get(fd.name)
        if seen is None:
            by_name[fd.name] = fd
        elif _same_definitions(seen, fd):
            if not seen.HasField("source_code_info") and fd.HasField("source_code_info"):
                by_name[fd.name] = fd
        elif not fd.name.startswith("google/protobuf/"):
            # Differing well-known files are version skew between tools: first one wins.
            raise SchemaError(f"conflicting definitions of file {fd.name!r}")
    ordered: list[FileDescriptorProto] = []
    done: set[str] = set()
    for root in list(by_name):
        # Iterative depth-first walk: a hostile chain of imports must not hit the recursion limit.
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            name, dep_index = stack.pop()
            if dep_index == 0:
                if name in done:
                    continue
                if name in path:
                    cycle = " -> ".join((*path[path.index(name) :], name))
                    raise SchemaError(f"import cycle: {cycle}")
                if name not in by_name:
                    runtime = runtime_file(name)
                    if runtime is None:
                        importer = path[-1] if path else "?"
                        raise SchemaError(f"{importer}: import {name!r} was not found")
                    by_name[name] = runtime
                path.append(name)
            deps = by_name[name].dependency
            if dep_index < len(deps):
                stack.append((name, dep_index + 1))
                stack.append((deps[dep_index], 0))
            else:
                path.pop()
                done.add(name)
                ordered.append(by_name[name])
    return ordered


def _walk_messages(messages: Iterable[Descriptor]) -> Iterator[Descriptor]:
    for msg in messages:
        yield msg
        yield from _walk_messages(msg.nested_types)


class Schema:
    """A set of file descriptors in a private pool, with lookup by full name or suffix."""

    def __init__(self, files: Sequence[FileDescriptorProto]) -> None:
        ordered = _topological(files)
        self.pool = descriptor_pool.DescriptorPool()
        for fd in ordered:
            try:
                self.pool.Add(fd)
            except (TypeError, ValueError) as exc:
                raise SchemaError(f"{fd.name}: {_pool_reason(exc)}") from exc
        self.files: tuple[FileDescriptorProto, ...] = tuple(ordered)
        key = id(self.pool)
        _SOURCES[key] = {fd.name: fd for fd in ordered}
        weakref.finalize(self, _SOURCES.pop, key, None)
        self._classes: dict[str, type[Message]] = {}
        self._symbols: dict[str, Symbol] | None = None

    def __repr__(self) -> str:
        return f"<Schema files={len(self.files)} services={len(self.services())}>"

    def services(self) -> list[ServiceDescriptor]:
        """Every service of the schema, sorted by full name."""
        found = [
            self.pool.FindServiceByName(f"{fd.package}.{svc.name}" if fd.package else svc.name)
            for fd in self.files
            for svc in fd.service
        ]
        return sorted(found, key=lambda s: s.full_name)

    def find_service(self, name: str) -> ServiceDescriptor:
        """A service by full name or unambiguous suffix."""
        found = self._lookup(name, "service", lambda s: isinstance(s, ServiceDescriptor))
        assert isinstance(found, ServiceDescriptor)
        return found

    def find_method(self, spec: str) -> MethodDescriptor:
        """A method from "pkg.Svc/Method", "/pkg.Svc/Method", "pkg.Svc.Method" or a suffix."""
        found = self._lookup(spec, "method", lambda s: isinstance(s, MethodDescriptor))
        assert isinstance(found, MethodDescriptor)
        return found

    def find_symbol(self, name: str) -> Symbol:
        """A message, enum, service or method by full name or unambiguous suffix."""
        return self._lookup(name, "symbol", lambda s: True)

    def message_class(self, desc: Descriptor) -> type[Message]:
        """The (cached) generated class for a message descriptor of this schema."""
        cls = self._classes.get(desc.full_name)
        if cls is None:
            cls = message_factory.GetMessageClass(desc)
            self._classes[desc.full_name] = cls
        return cls

    def merge(self, other: Schema) -> Schema:
        """A new schema with the files of both; a file defined differently is an error."""
        return Schema([*self.files, *other.files])

    def to_protoset(self) -> bytes:
        """The files as a serialized FileDescriptorSet."""
        fds = descriptor_pb2.FileDescriptorSet()
        fds.file.extend(self.files)
        return fds.SerializeToString()

    method_path = staticmethod(method_path)

    def _index(self) -> dict[str, Symbol]:
        if self._symbols is None:
            symbols: dict[str, Symbol] = {}
            for fd in self.files:
                file = self.pool.FindFileByName(fd.name)
                for msg in _walk_messages(file.message_types_by_name.values()):
                    symbols[msg.full_name] = msg
                    for enum_type in msg.enum_types:
                        symbols[enum_type.full_name] = enum_type
                for enum_type in file.enum_types_by_name.values():
                    symbols[enum_type.full_name] = enum_type
                for svc in file.services_by_name.values():
                    symbols[svc.full_name] = svc
                    for method in svc.methods:
                        symbols[method.full_name] = method
            self._symbols = symbols
        return self._symbols

    def _lookup(self, spec: str, what: str, accept: Callable[[Symbol], bool]) -> Symbol:
        key = spec.strip().lstrip("/.").replace("/", ".")
        shown = repr(clip(spec))
        index = {name: sym for name, sym in self._index().items() if accept(sym)}
        if key in index:
            return index[key]
        matches = sorted(name for name in index if key and name.endswith("." + key))
        if len(matches) == 1:
            return index[matches[0]]
        if matches:
            listed = ", ".join(_display(index[m]) for m in matches)
            raise SchemaError(f"ambiguous {what} {shown}: could be {listed}")
        if what == "symbol":
            field = self._field(key)
            if field is not None:
                return field
        other = self._other_kind(key, accept)
        if other is not None:
            raise SchemaError(f"{shown} is {_kind(other)}, not a {what}{_methods_of(other)}")
        close = _close_matches(key, index)
        hint = f"; did you mean {', '.join(_display(index[c]) for c in close)}?" if close else ""
        if not close:
            hint = self._methods_hint(key)
        raise SchemaError(f"unknown {what} {shown}{hint}")

    def _field(self, key: str) -> FieldDescriptor | None:
        """A message's field by its full name (describe shows fields, as grpcurl does)."""
        owner, _, name = key.rpartition(".")
        found = self._index().get(owner)
        return found.fields_by_name.get(name) if isinstance(found, Descriptor) else None

    def _other_kind(self, key: str, accept: Callable[[Symbol], bool]) -> Symbol | None:
        """The one symbol `key` names (in full or as a suffix) that `accept` refused, if any."""
        index = self._index()
        if key in index:
            return index[key]
        found = [sym for name, sym in index.items() if key and name.endswith("." + key)]
        return found[0] if len(found) == 1 and not accept(found[0]) else None

    def _methods_hint(self, key: str) -> str:
        """': pkg.Svc has no method X; its methods: …' when `key` is a known service + a method name."""
        if "." not in key:
            return ""
        service_key, name = key.rsplit(".", 1)
        services = [s for n, s in self._index().items() if isinstance(s, ServiceDescriptor)]
        found = [s for s in services if s.full_name == service_key]
        found = found or [s for s in services if s.full_name.endswith("." + service_key)]
        if len(found) != 1:
            return ""
        return f": {found[0].full_name} has no method {name}; its methods: {_method_names(found[0])}"


# Methods named when a service lacks the one asked for.
_LISTED = 12


def _kind(symbol: Symbol) -> str:
    if isinstance(symbol, ServiceDescriptor):
        return "a service"
    if isinstance(symbol, MethodDescriptor):
        return "a method"
    if isinstance(symbol, EnumDescriptor):
        return "an enum"
    return "a message"


def _methods_of(symbol: Symbol) -> str:
    """For a service given where a method goes: its methods and an example."""
    if not isinstance(symbol, ServiceDescriptor) or not symbol.methods:
        return ""
    return f": give one of its methods ({_method_names(symbol)}), e.g. {_display(symbol.methods[0])}"


def _method_names(service: ServiceDescriptor) -> str:
    """'A, B, C' (the first `_LISTED`, then 'and N more')."""
    names = [m.name for m in service.methods]
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return ", ".join(names[:_LISTED]) + more


def _display(symbol: Symbol) -> str:
    if isinstance(symbol, MethodDescriptor):
        return f"{symbol.containing_service.full_name}/{symbol.name}"
    return str(symbol.full_name)


def _close_matches(key: str, index: dict[str, Symbol]) -> list[str]:
    import difflib  # ~0.6 ms: only a failed lookup suggests names

    by_full = [n for n in difflib.get_close_matches(key, index, n=3, cutoff=0.6) if _alike(key, n)]
    if by_full:
        return by_full
    # Compare the last components too, so "Pnig" finds "pkg.Svc.Ping".
    depth = key.count(".") + 1
    tails: dict[str, str] = {}
    for name in index:
        tails.setdefault(".".join(name.split(".")[-depth:]), name)
    found = [tails[t] for t in difflib.get_close_matches(key, tails, n=3, cutoff=0.6)]
    return [n for n in found if _alike(key, n)]


def _alike(key: str, name: str) -> bool:
    """True if the names themselves look alike, not just their packages ("a.v1.X" vs "a.v1.Y")."""
    import difflib

    ours, theirs = key.rsplit(".", 1)[-1].lower(), name.rsplit(".", 1)[-1].lower()
    if len(ours) >= 3 and (ours in theirs or theirs in ours):
        return True
    return difflib.SequenceMatcher(None, ours, theirs).ratio() >= 0.6


def _pool_reason(exc: Exception) -> str:
    text = str(exc)
    prefix = "Couldn't build proto file into descriptor pool: "
    return text[len(prefix) :] if text.startswith(prefix) else text
