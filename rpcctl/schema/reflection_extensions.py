"""Extensions found by reflection: the files that extend a service's messages without being
imported by any file the service uses.

For each extendable message of the service's files, the server is asked for the numbers of
its extensions (`all_extension_numbers_of_type`), then for the file of each one not yet known
(`file_containing_extension`), as grpcurl does before a call (gRPC server reflection,
reflection.proto). A server that does not answer these requests only loses the extensions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from google.protobuf import descriptor_pb2 as pb

from rpcctl.errors import RpcError, SchemaError

#: Bounds on the round trips one reflection spends on extensions, over all its services (a
#: hostile server may list any number of extension numbers, and of services).
MAX_EXTENDABLE_TYPES = 64
MAX_EXTENSION_REQUESTS = 256

# The options messages of descriptor.proto are extendable too; their extensions (custom
# options) are always imported by the files that use them.
_SKIPPED_FILES = frozenset({"google/protobuf/descriptor.proto"})


@dataclass
class Budget:
    """What one reflection has left to spend on extensions: the types already asked about
    (each is asked once) and the file requests still allowed."""

    asked: set[str] = field(default_factory=set)
    requests: int = MAX_EXTENSION_REQUESTS


class ExtensionSource(Protocol):
    """The two reflection requests this module needs."""

    async def extension_numbers(self, type_name: str) -> list[int]:
        """The field numbers of every extension of `type_name` the server knows."""

    async def extension_files(self, type_name: str, number: int) -> list[pb.FileDescriptorProto]:
        """The file declaring extension `number` of `type_name` (and maybe its imports)."""


def _messages(messages: Iterable[pb.DescriptorProto], scope: str) -> Iterator[tuple[str, pb.DescriptorProto]]:
    for msg in messages:
        name = f"{scope}.{msg.name}" if scope else msg.name
        yield name, msg
        yield from _messages(msg.nested_type, name)


def extendable_types(files: Iterable[pb.FileDescriptorProto]) -> list[str]:
    """Full names of the messages with extension ranges, in file order."""
    return [
        name
        for fd in files
        if fd.name not in _SKIPPED_FILES
        for name, msg in _messages(fd.message_type, fd.package)
        if msg.extension_range
    ]


def declared_extensions(files: Iterable[pb.FileDescriptorProto]) -> set[tuple[str, int]]:
    """(extended message, number) of every extension the files declare."""
    found: set[tuple[str, int]] = set()
    for fd in files:
        fields = [*fd.extension, *(ext for _, msg in _messages(fd.message_type, "") for ext in msg.extension)]
        found.update((ext.extendee.lstrip("."), ext.number) for ext in fields)
    return found


async def extension_files(
    source: ExtensionSource,
    known_files: Iterable[pb.FileDescriptorProto],
    scope: Sequence[pb.FileDescriptorProto],
    budget: Budget | None = None,
) -> list[pb.FileDescriptorProto]:
    """The files the server sends for extensions of `scope`'s messages that `known_files` lack.

    `budget` is shared by the calls of one reflection (one per service); a new one if None."""
    budget = Budget() if budget is None else budget
    known = declared_extensions(known_files)
    found: list[pb.FileDescriptorProto] = []
    for type_name in extendable_types(scope):
        if type_name in budget.asked:
            continue
        if len(budget.asked) >= MAX_EXTENDABLE_TYPES:
            return found
        budget.asked.add(type_name)
        try:
            numbers = await source.extension_numbers(type_name)
        except (RpcError, SchemaError):
            continue  # not supported, or the type is unknown to the server: no extensions
        for number in numbers:
            if (type_name, number) in known:
                continue
            if budget.requests <= 0:
                return found
            budget.requests -= 1
            known.add((type_name, number))
            try:
                answer = await source.extension_files(type_name, number)
            except (RpcError, SchemaError):
                continue
            found.extend(answer)
            known |= declared_extensions(answer)
    return found
