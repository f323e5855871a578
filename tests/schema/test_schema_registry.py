"""Schema construction and symbol lookup."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from google.protobuf import descriptor_pb2

from rpcctl.errors import SchemaError, UsageError
from rpcctl.schema.registry import CallKind, Schema, method_path
from tests.support.schema import compile_runner_schema, compile_test_schema

FDP = descriptor_pb2.FileDescriptorProto


def _file(name: str, package: str, deps: tuple[str, ...] = (), messages: tuple[str, ...] = ()) -> FDP:
    fd = FDP(name=name, package=package, syntax="proto3", dependency=list(deps))
    for msg in messages:
        fd.message_type.add(name=msg)
    return fd


@pytest.mark.parametrize(
    "spec",
    [
        "rpcctl.test.v1.TestService/Echo",
        "/rpcctl.test.v1.TestService/Echo",
        "rpcctl.test.v1.TestService.Echo",
        "TestService/Echo",
        "TestService.Echo",
        "v1.TestService/Echo",
        "Echo",
    ],
)
def test_find_method_forms(schema: Schema, spec: str) -> None:
    method = schema.find_method(spec)
    assert method.full_name == "rpcctl.test.v1.TestService.Echo"
    assert method_path(method) == "/rpcctl.test.v1.TestService/Echo"
    assert schema.method_path(method) == "/rpcctl.test.v1.TestService/Echo"


def test_unknown_method_suggests_close_matches(schema: Schema) -> None:
    with pytest.raises(SchemaError) as info:
        schema.find_method("TestService/Ecko")
    assert str(info.value).startswith("unknown method 'TestService/Ecko'")
    assert "rpcctl.test.v1.TestService/Echo" in str(info.value)
    assert isinstance(info.value, UsageError)


def test_unknown_method_without_close_match(schema: Schema) -> None:
    with pytest.raises(SchemaError, match=r"^unknown method 'Zzzzzz'$"):
        schema.find_method("Zzzzzz")


def test_ambiguous_method_lists_candidates() -> None:
    merged = compile_test_schema().merge(compile_runner_schema())
    extra = _file("other.proto", "other.v1")
    extra.service.add(name="TestService").method.add(
        name="Echo", input_type=".google.protobuf.Empty", output_type=".google.protobuf.Empty"
    )
    extra.dependency.append("google/protobuf/empty.proto")
    both = merged.merge(Schema([extra]))
    with pytest.raises(SchemaError) as info:
        both.find_method("TestService/Echo")
    message = str(info.value)
    assert message.startswith("ambiguous method 'TestService/Echo'")
    assert "other.v1.TestService/Echo" in message
    assert "rpcctl.test.v1.TestService/Echo" in message
    assert both.find_method("rpcctl.test.v1.TestService/Echo").name == "Echo"
    assert both.find_method("Ping").full_name == "pkg.proto.runner.v1.RunnerService.Ping"


def test_find_symbol_kinds(schema: Schema) -> None:
    assert schema.find_symbol("Kitchen").full_name == "rpcctl.test.v1.Kitchen"
    assert schema.find_symbol("rpcctl.test.v1.Color").full_name == "rpcctl.test.v1.Color"
    assert schema.find_symbol("TestService").full_name == "rpcctl.test.v1.TestService"
    assert schema.find_symbol("TestService/Count").full_name == "rpcctl.test.v1.TestService.Count"
    assert schema.find_symbol("google.protobuf.Timestamp").full_name == "google.protobuf.Timestamp"
    assert schema.find_symbol(".rpcctl.test.v1.Kitchen.CountsEntry").name == "CountsEntry"
    with pytest.raises(
        SchemaError, match=re.escape("unknown symbol 'Kitchn'; did you mean rpcctl.test.v1.Kitchen")
    ):
        schema.find_symbol("Kitchn")


def test_find_service(schema: Schema) -> None:
    assert schema.find_service("rpcctl.test.v1.TestService").name == "TestService"
    with pytest.raises(SchemaError, match=r"^'Echo' is a method, not a service$"):
        schema.find_service("Echo")


def test_call_kinds(schema: Schema) -> None:
    kinds = {m.name: CallKind.of(m) for m in schema.find_service("TestService").methods}
    assert kinds == {
        "Echo": CallKind.UNARY,
        "Lookup": CallKind.UNARY,
        "Fail": CallKind.UNARY,
        "Count": CallKind.SERVER_STREAM,
        "Sum": CallKind.CLIENT_STREAM,
        "Chat": CallKind.BIDI,
    }
    assert CallKind.BIDI.client_streams and CallKind.BIDI.server_streams
    assert not CallKind.SERVER_STREAM.client_streams and CallKind.SERVER_STREAM.server_streams
    assert CallKind.CLIENT_STREAM.client_streams and not CallKind.CLIENT_STREAM.server_streams
    assert [k.label for k in CallKind] == [
        "unary",
        "server streaming",
        "client streaming",
        "bidi streaming",
    ]


def test_files_in_any_order_are_sorted_topologically(schema: Schema) -> None:
    reordered = Schema(list(reversed(schema.files)))
    names = [f.name for f in reordered.files]
    assert names.index("google/protobuf/any.proto") < names.index("rpcctl/test/v1/test.proto")
    services = [s.full_name for s in Schema(schema.files).merge(compile_runner_schema()).services()]
    assert services == sorted(services)


def test_missing_wkt_dependency_comes_from_the_runtime(schema: Schema) -> None:
    only_test = [f for f in schema.files if f.name == "rpcctl/test/v1/test.proto"]
    rebuilt = Schema(only_test)
    assert "google/protobuf/timestamp.proto" in [f.name for f in rebuilt.files]
    assert rebuilt.find_symbol("Kitchen").fields_by_name["at"].message_type.full_name == (
        "google.protobuf.Timestamp"
    )


def test_unresolved_import() -> None:
    with pytest.raises(SchemaError, match=re.escape("a.proto: import 'lost/b.proto' was not found")):
        Schema([_file("a.proto", "a", deps=("lost/b.proto",))])


def test_import_cycle() -> None:
    files = [_file("a.proto", "a", deps=("b.proto",)), _file("b.proto", "b", deps=("a.proto",))]
    with pytest.raises(SchemaError, match=re.escape("import cycle: a.proto -> b.proto -> a.proto")):
        Schema(files)


def test_conflicting_definitions() -> None:
    with pytest.raises(SchemaError, match=re.escape("conflicting definitions of file 'a.proto'")):
        Schema([_file("a.proto", "a", messages=("M",)), _file("a.proto", "a", messages=("N",))])
    with pytest.raises(SchemaError, match=re.escape("duplicate symbol 'x.M'")):
        Schema([_file("a.proto", "x", messages=("M",)), _file("b.proto", "x", messages=("M",))])
    same = _file("a.proto", "a", messages=("M",))
    assert len(Schema([same, same]).files) == 1


def test_caps_on_file_count() -> None:
    files = [_file(f"f{i}.proto", "p") for i in range(5000)]
    with pytest.raises(SchemaError, match="too many descriptor files"):
        Schema(files)


def test_long_import_chain_does_not_recurse() -> None:
    files = [_file("f0.proto", "p")]
    files += [_file(f"f{i}.proto", "p", deps=(f"f{i - 1}.proto",)) for i in range(1, 3000)]
    assert len(Schema(list(reversed(files))).files) == 3000


def test_message_class_is_cached_and_works(schema: Schema) -> None:
    desc = schema.find_symbol("EchoRequest")
    cls = schema.message_class(desc)  # type: ignore[arg-type]
    assert schema.message_class(desc) is cls  # type: ignore[arg-type]
    msg = cls(message="hi", delay_ms=3)
    assert cls.FromString(msg.SerializeToString()) == msg


def test_private_pool_and_protoset_round_trip(schema: Schema) -> None:
    other = compile_test_schema()
    assert other.pool is not schema.pool
    fds = descriptor_pb2.FileDescriptorSet.FromString(schema.to_protoset())
    assert [f.name for f in fds.file] == [f.name for f in schema.files]


def test_importing_the_schema_package_stays_cheap() -> None:
    code = (
        "import sys, rpcctl.schema, rpcctl.schema.registry, rpcctl.schema.sources, "
        "rpcctl.schema.reflection, rpcctl.schema.describe, rpcctl.schema.template, "
        "rpcctl.schema.jsoncodec, rpcctl.schema.details, rpcctl.schema.cache\n"
        "heavy = [m for m in ('grpc', 'grpc_tools', 'httpx', 'textual') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
