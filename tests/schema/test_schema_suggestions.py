"""'did you mean' names only what looks like the name asked for (issue 11 §2)."""

from __future__ import annotations

import pytest

from rpcctl.errors import SchemaError
from rpcctl.schema.registry import Schema
from tests.support.schema import compile_runner_schema


@pytest.fixture(scope="module")
def runner() -> Schema:
    return compile_runner_schema()


@pytest.mark.parametrize("asked", ["pkg.proto.runner.v1.Other/X", "demo.Demo/Get", "Xyz/Get"])
def test_nothing_alike_nothing_suggested(runner: Schema, asked: str) -> None:
    with pytest.raises(SchemaError) as caught:
        runner.find_symbol(asked)
    assert str(caught.value) == f"unknown symbol {asked!r}"


@pytest.mark.parametrize(
    ("asked", "suggested"),
    [
        ("Pnig", "pkg.proto.runner.v1.RunnerService/Ping"),
        ("RunnerService/Ping2", "pkg.proto.runner.v1.RunnerService/Ping"),
        ("Fetch", "pkg.proto.runner.v1.RunnerService/FetchTask"),
    ],
)
def test_typos_and_parts_are_suggested(runner: Schema, asked: str, suggested: str) -> None:
    with pytest.raises(SchemaError) as caught:
        runner.find_symbol(asked)
    assert str(caught.value) == f"unknown symbol {asked!r}; did you mean {suggested}?"


METHODS = "Ping, Register, Declare, FetchTask, UpdateTask, UpdateLog"


@pytest.mark.parametrize(
    "asked", ["pkg.proto.runner.v1.RunnerService/Xyz", "RunnerService/Xyz", "runner.v1.RunnerService.Xyz"]
)
def test_a_method_its_service_lacks_lists_the_services_methods(runner: Schema, asked: str) -> None:
    # grpcurl: service "…" does not include a method named "Xyz"; rpcctl names those it has.
    for find, what in ((runner.find_method, "method"), (runner.find_symbol, "symbol")):
        with pytest.raises(SchemaError) as caught:
            find(asked)
        assert str(caught.value) == (
            f"unknown {what} {asked!r}: pkg.proto.runner.v1.RunnerService has no method Xyz; "
            f"its methods: {METHODS}"
        )


def test_a_service_where_a_method_goes_says_so_and_names_its_methods(runner: Schema) -> None:
    for asked in ("pkg.proto.runner.v1.RunnerService", "RunnerService"):
        with pytest.raises(SchemaError) as caught:
            runner.find_method(asked)
        assert str(caught.value) == (
            f"{asked!r} is a service, not a method: give one of its methods ({METHODS}), "
            "e.g. pkg.proto.runner.v1.RunnerService/Ping"
        )


@pytest.mark.parametrize(
    ("find", "asked", "said"),
    [
        ("find_method", "pkg.proto.runner.v1.PingRequest", "a message, not a method"),
        ("find_service", "PingRequest", "a message, not a service"),
        ("find_service", "RunnerService.Ping", "a method, not a service"),
    ],
)
def test_a_symbol_of_another_kind_is_named_for_what_it_is(
    runner: Schema, find: str, asked: str, said: str
) -> None:
    with pytest.raises(SchemaError) as caught:
        getattr(runner, find)(asked)
    assert str(caught.value) == f"{asked!r} is {said}"


def test_a_huge_name_is_clipped_in_the_error(runner: Schema) -> None:
    asked = "x" * 5000
    with pytest.raises(SchemaError) as caught:
        runner.find_method(asked)
    assert str(caught.value) == f"unknown method '{'x' * 199}…'"
