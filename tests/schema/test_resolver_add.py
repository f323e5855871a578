"""TypeResolver._add: files a source sends whose imports cannot be added end the attempt
(the type stays unresolved) instead of looping forever."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import asyncio
from google.protobuf import descriptor_pb2 as pb
from rpcctl.schema.registry import Schema
from rpcctl.schema.resolver import TypeResolver

# The schema declares google.protobuf.Any in a file of its own, so the runtime's
# google/protobuf/any.proto (which a file sent later imports) cannot join the pool.
own = pb.FileDescriptorProto(name="vendored/any.proto", package="google.protobuf", syntax="proto3")
own.message_type.add(name="Any")


class Source:
    async def files_for_symbol(self, name, known):
        fd = pb.FileDescriptorProto(
            name="x.proto", package="x", syntax="proto3", dependency=["google/protobuf/any.proto"]
        )
        fd.message_type.add(name="X")
        return [fd]


resolver = TypeResolver(Schema([own]), Source())
print(asyncio.run(resolver.resolve("x.X")), "x.X" in resolver.unresolved)
"""


def test_an_import_that_cannot_be_added_does_not_hang() -> None:
    # The old loop retried the same runtime import forever (100% CPU, no timeout helps).
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
