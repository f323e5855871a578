"""Server reflection (v1, v1alpha) and grpc.health.v1, seen by grpcio and rpcctl's reflection client."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from grpc_reflection.v1alpha import reflection_pb2 as rpb

from rpcctl.schema.reflection import reflect
from rpcctl.server.builtin_schema import builtin_schema
from rpcctl.server.serve import Server
from tests.support.grpc_stream import grpc_opener

VERSIONS = ["v1", "v1alpha"]
TEST_FILE = "rpcctl/test/v1/test.proto"


@pytest.fixture
def channel(threaded: Server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(threaded.address) as ch:
        yield ch


def _exchange(channel: grpc.Channel, version: str, requests: list[rpb.ServerReflectionRequest]) -> list:
    call = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=rpb.ServerReflectionRequest.SerializeToString,
        response_deserializer=rpb.ServerReflectionResponse.FromString,
    )
    return list(call(iter(requests), timeout=10))


def _names(response: rpb.ServerReflectionResponse) -> list[str]:
    return [
        FileDescriptorProto.FromString(b).name
        for b in response.file_descriptor_response.file_descriptor_proto
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_list_services_includes_reflection_and_health(channel: grpc.Channel, version: str):
    (res,) = _exchange(channel, version, [rpb.ServerReflectionRequest(list_services="*")])
    names = [s.name for s in res.list_services_response.service]
    assert "rpcctl.test.v1.TestService" in names
    assert {"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} <= set(names)
    assert "grpc.health.v1.Health" in names
    assert res.original_request.list_services == "*"


@pytest.mark.parametrize("version", VERSIONS)
def test_one_stream_answers_in_order_dedupes_and_survives_errors(channel: grpc.Channel, version: str):
    requests = [
        rpb.ServerReflectionRequest(file_containing_symbol="rpcctl.test.v1.TestService", host="h"),
        rpb.ServerReflectionRequest(file_containing_symbol="no.such.Symbol"),
        rpb.ServerReflectionRequest(file_by_filename="google/protobuf/any.proto"),
        rpb.ServerReflectionRequest(file_containing_symbol="rpcctl.test.v1.Kitchen.text"),
        rpb.ServerReflectionRequest(file_by_filename="nope.proto"),
        rpb.ServerReflectionRequest(all_extension_numbers_of_type="rpcctl.test.v1.Kitchen"),
    ]
    first, missing, any_file, again, no_file, extensions = _exchange(channel, version, requests)
    names = _names(first)
    assert names[0] == TEST_FILE  # the requested file first, then its imports
    assert {
        "google/protobuf/any.proto",
        "google/protobuf/timestamp.proto",
        "google/protobuf/struct.proto",
    } <= set(names)
    assert len(names) == len(set(names))
    assert first.valid_host == "h"
    assert (missing.error_response.error_code, missing.HasField("file_descriptor_response")) == (5, False)
    assert _names(any_file) == ["google/protobuf/any.proto"]  # asked for: sent again
    assert _names(again) == [TEST_FILE]  # its imports went out earlier on this stream
    assert no_file.error_response.error_code == 5
    assert extensions.all_extension_numbers_response.base_type_name == "rpcctl.test.v1.Kitchen"


def test_reflection_describes_the_builtin_services(channel: grpc.Channel):
    (res,) = _exchange(
        channel, "v1", [rpb.ServerReflectionRequest(file_containing_symbol="grpc.health.v1.Health")]
    )
    (fd,) = [FileDescriptorProto.FromString(b) for b in res.file_descriptor_response.file_descriptor_proto]
    assert (fd.name, fd.package) == ("grpc/health/v1/health.proto", "grpc.health.v1")


@pytest.mark.asyncio
async def test_rpcctl_reflection_client_resolves_the_schema(server: Server):
    async with grpc.aio.insecure_channel(server.address) as channel:
        result = await reflect(grpc_opener(channel))
    assert "rpcctl.test.v1.TestService" in result.services
    assert TEST_FILE in [f.name for f in result.files]
    assert not result.failures


def test_health_check(channel: grpc.Channel):
    schema = builtin_schema()
    req_t = schema.message_class(schema.pool.FindMessageTypeByName("grpc.health.v1.HealthCheckRequest"))
    res_t = schema.message_class(schema.pool.FindMessageTypeByName("grpc.health.v1.HealthCheckResponse"))
    check = channel.unary_unary("/grpc.health.v1.Health/Check")
    for name in ("", "rpcctl.test.v1.TestService", "grpc.health.v1.Health"):
        assert res_t.FromString(check(req_t(service=name).SerializeToString(), timeout=10)).status == 1
    with pytest.raises(grpc.RpcError) as err:
        check(req_t(service="no.Such").SerializeToString(), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    watch = channel.unary_stream("/grpc.health.v1.Health/Watch")(
        req_t(service="").SerializeToString(), timeout=0.5
    )
    assert res_t.FromString(next(watch)).status == 1
    with pytest.raises(grpc.RpcError) as err:
        next(watch)  # Watch stays open until the deadline
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
