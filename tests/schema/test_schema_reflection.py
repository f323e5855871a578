"""reflect() against real grpcio servers: v1, v1alpha, none, and broken answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from concurrent import futures
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection as v1alpha
from grpc_reflection.v1alpha import reflection_pb2

from rpcctl.errors import RpcError, SchemaError
from rpcctl.schema.reflection import (
    NOT_ENABLED,
    V1_PATH,
    V1ALPHA_PATH,
    ReflectionStream,
    StreamOpener,
    reflect,
)
from rpcctl.schema.registry import Schema
from rpcctl.wire.status import Code
from tests.support.grpc_stream import grpc_opener
from tests.support.reflection_v1 import V1_SERVICE_NAME, add_v1_reflection, reflection_handler
from tests.support.schema import TEST_SERVICE, compile_test_schema

GHOST = "ghost.v1.Ghost"


class Server:
    """A grpc.aio server on 127.0.0.1 and a channel to it."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self.server = server
        self.port = server.add_insecure_port("127.0.0.1:0")
        self.channel: grpc.aio.Channel | None = None
        self.paths: list[str] = []

    async def __aenter__(self) -> Server:
        await self.server.start()
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.channel is not None
        await self.channel.close()
        await self.server.stop(None)

    @property
    def opener(self) -> StreamOpener:
        """Opens streams on the channel and records the paths asked for."""
        assert self.channel is not None
        inner = grpc_opener(self.channel)

        async def open_stream(path: str) -> ReflectionStream:
            self.paths.append(path)
            return await inner(path)

        return open_stream


@pytest_asyncio.fixture
async def v1alpha_server() -> AsyncIterator[Server]:
    pool = compile_test_schema().pool
    server = grpc.aio.server()
    v1alpha.enable_server_reflection((TEST_SERVICE, v1alpha.SERVICE_NAME), server, pool=pool)
    async with Server(server) as running:
        yield running


def _check_test_schema(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> Schema:
    schema = Schema(list(files))
    names = [f.name for f in schema.files]
    for wkt in ["any", "duration", "empty", "struct", "timestamp", "wrappers"]:
        assert f"google/protobuf/{wkt}.proto" in names
    assert names[-1] == "rpcctl/test/v1/test.proto"
    assert schema.find_method("TestService/Chat").full_name == "rpcctl.test.v1.TestService.Chat"
    return schema


@pytest.mark.asyncio
async def test_v1alpha_server_after_v1_fallback(v1alpha_server: Server) -> None:
    result = await reflect(v1alpha_server.opener)
    assert v1alpha_server.paths == [V1_PATH, V1ALPHA_PATH]
    assert result.services == (v1alpha.SERVICE_NAME, TEST_SERVICE)
    # The server's pool lacks reflection.proto itself: that service alone is unresolved.
    assert [service for service, _ in result.failures] == [v1alpha.SERVICE_NAME]
    _check_test_schema(result.files)


@pytest.mark.asyncio
async def test_v1_server() -> None:
    server = grpc.aio.server()
    add_v1_reflection(server, [TEST_SERVICE], compile_test_schema().pool)
    async with Server(server) as running:
        result = await reflect(running.opener, host="example.com")
    assert running.paths == [V1_PATH]
    assert result.services == (V1_SERVICE_NAME, TEST_SERVICE)
    assert [service for service, _ in result.failures] == [V1_SERVICE_NAME]
    _check_test_schema(result.files)


@pytest.mark.asyncio
async def test_v1_helper_on_a_sync_server() -> None:
    sync = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    add_v1_reflection(sync, [TEST_SERVICE], compile_test_schema().pool)
    port = sync.add_insecure_port("127.0.0.1:0")
    sync.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            result = await reflect(grpc_opener(channel))
    finally:
        sync.stop(None)
    _check_test_schema(result.files)


@pytest.mark.asyncio
async def test_no_reflection() -> None:
    async with Server(grpc.aio.server()) as running:
        with pytest.raises(SchemaError) as info:
            await reflect(running.opener)
    assert str(info.value) == NOT_ENABLED
    cause = info.value.__cause__
    assert isinstance(cause, RpcError)
    assert cause.code is Code.UNIMPLEMENTED
    assert running.paths == [V1_PATH, V1ALPHA_PATH]


@pytest.mark.asyncio
async def test_unimplemented_when_opening_falls_back(v1alpha_server: Server) -> None:
    async def open_stream(path: str) -> ReflectionStream:
        if path == V1_PATH:
            raise RpcError(Code.UNIMPLEMENTED, "no v1 here")
        return await v1alpha_server.opener(path)

    result = await reflect(open_stream)
    assert TEST_SERVICE in result.services
    assert v1alpha_server.paths == [V1ALPHA_PATH]


@pytest.mark.asyncio
async def test_other_errors_are_not_a_fallback(v1alpha_server: Server) -> None:
    async def open_stream(path: str) -> ReflectionStream:
        raise RpcError(Code.PERMISSION_DENIED, "go away")

    with pytest.raises(RpcError) as info:
        await reflect(open_stream)
    assert info.value.code is Code.PERMISSION_DENIED


@pytest.mark.asyncio
async def test_unresolvable_service_is_a_failure_and_the_rest_is_kept() -> None:
    server = grpc.aio.server()
    add_v1_reflection(server, [GHOST, TEST_SERVICE], compile_test_schema().pool)
    async with Server(server) as running:
        result = await reflect(running.opener)
    assert GHOST in result.services
    assert [service for service, _ in result.failures] == [GHOST, V1_SERVICE_NAME]
    assert "NOT_FOUND" in result.failures[0][1]
    _check_test_schema(result.files)


class _StingyServicer(v1alpha.aio.ReflectionServicer):  # type: ignore[misc]
    """Answers with the requested file only, and knows no well-known file by name."""

    def _file_containing_symbol(self, request: Any, name: str) -> Any:
        try:
            file = self._pool.FindFileContainingSymbol(name)
        except KeyError:
            return super()._file_containing_symbol(request, name)
        return _single_file(request, file)

    def _file_by_filename(self, request: Any, filename: str) -> Any:
        if filename.startswith("google/protobuf/"):
            return reflection_pb2.ServerReflectionResponse(
                error_response=reflection_pb2.ErrorResponse(error_code=5, error_message="nope"),
                original_request=request,
            )
        return _single_file(request, self._pool.FindFileByName(filename))


def _single_file(request: Any, file: Any) -> Any:
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    return reflection_pb2.ServerReflectionResponse(
        file_descriptor_response=reflection_pb2.FileDescriptorResponse(
            file_descriptor_proto=[proto.SerializeToString()]
        ),
        original_request=request,
    )


@pytest.mark.asyncio
async def test_wkt_imports_come_from_the_runtime_when_not_found() -> None:
    server = grpc.aio.server()
    servicer = _StingyServicer([TEST_SERVICE], pool=compile_test_schema().pool)
    server.add_generic_rpc_handlers((reflection_handler(servicer),))
    async with Server(server) as running:
        result = await reflect(running.opener)
    assert result.failures == ()
    _check_test_schema(result.files)


@pytest.mark.asyncio
async def test_missing_non_wkt_import_fails_the_service(tmp_path: Any) -> None:
    (tmp_path / "dep.proto").write_text('syntax = "proto3";\npackage d;\nmessage D {}\n')
    (tmp_path / "svc.proto").write_text(
        'syntax = "proto3";\npackage s;\nimport "dep.proto";\nservice S { rpc M(d.D) returns (d.D); }\n'
    )
    from rpcctl.schema.sources import load_proto_files

    pool = Schema(load_proto_files([tmp_path / "svc.proto"])).pool

    class NoDeps(_StingyServicer):
        def _file_by_filename(self, request: Any, filename: str) -> Any:
            return reflection_pb2.ServerReflectionResponse(
                error_response=reflection_pb2.ErrorResponse(error_code=5, error_message="gone"),
                original_request=request,
            )

    server = grpc.aio.server()
    server.add_generic_rpc_handlers((reflection_handler(NoDeps(["s.S"], pool=pool)),))
    async with Server(server) as running:
        result = await reflect(running.opener)
    assert result.services == ("s.S",)
    assert result.files == ()
    assert result.failures == (("s.S", "import 'dep.proto': NOT_FOUND: gone"),)


@pytest.mark.asyncio
async def test_garbage_answer_to_an_extension_request_loses_only_the_extension(tmp_path: Any) -> None:
    # reflection_extensions: "a server that does not answer these requests only loses the
    # extensions"; an undecodable file_containing_extension answer failed the whole service.
    (tmp_path / "svc.proto").write_text(
        'syntax = "proto2";\npackage s;\nmessage M { extensions 100 to 199; }\n'
        "service S { rpc Call(M) returns (M); }\n"
    )
    from rpcctl.schema.sources import load_proto_files

    pool = Schema(load_proto_files([tmp_path / "svc.proto"])).pool

    class Garbage(_StingyServicer):
        def _all_extension_numbers_of_type(self, request: Any, containing_type: str) -> Any:
            return reflection_pb2.ServerReflectionResponse(
                all_extension_numbers_response=reflection_pb2.ExtensionNumberResponse(
                    base_type_name=containing_type, extension_number=[150]
                ),
                original_request=request,
            )

        def _file_containing_extension(self, request: Any, containing_type: str, number: int) -> Any:
            return reflection_pb2.ServerReflectionResponse(
                file_descriptor_response=reflection_pb2.FileDescriptorResponse(
                    file_descriptor_proto=[b"\xff\xff\xff"]
                ),
                original_request=request,
            )

    server = grpc.aio.server()
    server.add_generic_rpc_handlers((reflection_handler(Garbage(["s.S"], pool=pool)),))
    async with Server(server) as running:
        result = await reflect(running.opener)
    assert result.failures == ()
    assert [fd.name for fd in result.files] == ["svc.proto"]
