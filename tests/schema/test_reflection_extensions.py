"""Extension discovery by reflection: what is asked, what is skipped, and the bounds."""

from __future__ import annotations

import asyncio

from google.protobuf import descriptor_pb2 as pb

from rpcctl.errors import RpcError
from rpcctl.schema.reflection_extensions import (
    MAX_EXTENSION_REQUESTS,
    declared_extensions,
    extendable_types,
    extension_files,
)
from rpcctl.wire.status import Code


def _file() -> pb.FileDescriptorProto:
    fd = pb.FileDescriptorProto(name="a.proto", package="a")
    outer = fd.message_type.add(name="Outer")
    outer.extension_range.add(start=100, end=200)
    inner = outer.nested_type.add(name="Inner")
    inner.extension_range.add(start=10, end=20)
    fd.message_type.add(name="Plain")
    fd.extension.add(name="known", number=100, extendee=".a.Outer")
    return fd


class _Greedy:
    """A server that lists far more extension numbers than anyone should ask about."""

    def __init__(self, numbers: int) -> None:
        self.numbers = numbers
        self.file_requests = 0

    async def extension_numbers(self, type_name: str) -> list[int]:
        if type_name == "a.Outer.Inner":
            raise RpcError(Code.UNIMPLEMENTED, "no")
        return list(range(100, 100 + self.numbers))

    async def extension_files(self, type_name: str, number: int) -> list[pb.FileDescriptorProto]:
        self.file_requests += 1
        fd = pb.FileDescriptorProto(name=f"x{number}.proto", package="x")
        fd.extension.add(name=f"e{number}", number=number, extendee=f".{type_name}")
        return [fd]


def test_extendable_types_and_declared_extensions() -> None:
    fd = _file()
    assert extendable_types([fd]) == ["a.Outer", "a.Outer.Inner"]
    assert declared_extensions([fd]) == {("a.Outer", 100)}


def test_known_extensions_are_not_asked_for_and_unsupported_requests_are_skipped() -> None:
    fd = _file()
    source = _Greedy(numbers=3)
    found = asyncio.run(extension_files(source, [fd], [fd]))
    assert sorted(f.name for f in found) == ["x101.proto", "x102.proto"]
    assert source.file_requests == 2


def test_a_server_listing_many_numbers_costs_a_bounded_number_of_requests() -> None:
    fd = _file()
    source = _Greedy(numbers=100_000)
    found = asyncio.run(extension_files(source, [fd], [fd]))
    assert source.file_requests == MAX_EXTENSION_REQUESTS
    assert len(found) == MAX_EXTENSION_REQUESTS


class _Evasive(_Greedy):
    """Lists many numbers, then answers with files that declare none of them."""

    async def extension_files(self, type_name: str, number: int) -> list[pb.FileDescriptorProto]:
        self.file_requests += 1
        return [pb.FileDescriptorProto(name=f"x{number}.proto")]


def test_the_request_bound_holds_over_all_services_of_one_reflection() -> None:
    # reflect() calls extension_files once per service: the bound was per call, so a server
    # listing many services sharing an extendable message bought 256 requests for each.
    from rpcctl.schema.reflection_extensions import Budget

    fd = _file()
    source = _Evasive(numbers=1000)
    budget = Budget()

    async def services() -> None:
        for _ in range(5):
            await extension_files(source, [fd], [fd], budget)

    asyncio.run(services())
    assert source.file_requests == MAX_EXTENSION_REQUESTS
