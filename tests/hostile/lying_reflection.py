"""gRPC servers whose reflection lies (grpc.reflection.v1 and v1alpha, on 127.0.0.1 port 0).

Each lie is a function of a file request to the file descriptors answered: a file that
imports itself, two files importing each other, 10,000 files in one answer, a chain of
10,000 imports fetched one by one, a descriptor of 10 MB, a file that does not define the
symbol asked for, a file that names its own path outside any root ("../../x.proto").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from grpc_reflection.v1alpha import reflection_pb2

SERVICE = "lie.Lying"
V1 = "grpc.reflection.v1.ServerReflection"
V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"
MANY = 10_000
HUGE = 10_000_000  # bytes of one descriptor (100 MB tried by hand: the 4 MiB cap holds the same)

Answer = Callable[[Any], list[bytes]]  # a file request -> serialized FileDescriptorProtos


def _file(name: str, deps: tuple[str, ...] = (), *, service: bool = False, package: str = "lie") -> bytes:
    fd = FileDescriptorProto(name=name, package=package, syntax="proto3", dependency=list(deps))
    message = fd.message_type.add(name="M" + str(abs(hash(name)) % 1000))
    message.field.add(name="x", number=1, type=9, label=1)  # string x = 1
    if service:
        svc = fd.service.add(name="Lying")
        svc.method.add(
            name="Call", input_type=f".{package}.{message.name}", output_type=f".{package}.{message.name}"
        )
    return fd.SerializeToString()


def self_import(request: Any) -> list[bytes]:
    return [_file("lie.proto", ("lie.proto",), service=True)]


def cycle(request: Any) -> list[bytes]:
    if request.file_by_filename == "b.proto":
        return [_file("b.proto", ("lie.proto",), package="b")]
    return [_file("lie.proto", ("b.proto",), service=True)]


def many_files(request: Any) -> list[bytes]:
    deps = tuple(f"f{index}.proto" for index in range(MANY))
    return [_file("lie.proto", deps, service=True)] + [
        _file(dep, package=f"p{i}") for i, dep in enumerate(deps)
    ]


def chain(request: Any) -> list[bytes]:
    name = request.file_by_filename
    if not name:
        return [_file("lie.proto", ("c1.proto",), service=True)]
    index = int(name[1:].split(".")[0])
    return [_file(name, (f"c{index + 1}.proto",) if index < MANY else (), package=f"c{index}")]


def huge(request: Any) -> list[bytes]:
    fd = FileDescriptorProto.FromString(_file("lie.proto", service=True))
    fd.message_type.add(name="Big").options.deprecated = True
    fd.source_code_info.location.add(leading_comments="x" * HUGE)
    return [fd.SerializeToString()]


def wrong_file(request: Any) -> list[bytes]:
    return [_file("other.proto", package="other")]


def escaping_name(request: Any) -> list[bytes]:
    return [_file("../../../../tmp/lie-escape.proto", service=True)]


LIES: dict[str, Answer] = {
    "self-import": self_import,
    "cycle": cycle,
    "10k-files": many_files,
    "10k-chain": chain,
    "100mb-descriptor": huge,
    "wrong-file": wrong_file,
    "escaping-name": escaping_name,
}


def _handler(name: str, answer: Answer) -> grpc.GenericRpcHandler:
    pb = reflection_pb2

    def info(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        for count, request in enumerate(requests):
            if count > 2 * MANY:  # bounded whatever the client does
                return
            if request.WhichOneof("message_request") == "list_services":
                services = [pb.ServiceResponse(name=SERVICE)]
                yield pb.ServerReflectionResponse(
                    list_services_response=pb.ListServiceResponse(service=services)
                )
                continue
            blobs = answer(request)
            yield pb.ServerReflectionResponse(
                file_descriptor_response=pb.FileDescriptorResponse(file_descriptor_proto=blobs)
            )

    behaviour = grpc.stream_stream_rpc_method_handler(
        info,
        request_deserializer=pb.ServerReflectionRequest.FromString,
        response_serializer=pb.ServerReflectionResponse.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(name, {"ServerReflectionInfo": behaviour})


@contextlib.contextmanager
def lying(kind: str) -> Iterator[int]:
    """A server whose reflection tells lie `kind` for the block; yields its port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(tuple(_handler(name, LIES[kind]) for name in (V1, V1ALPHA)))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(grace=None)
