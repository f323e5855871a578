"""Serve grpc.reflection.v1 on a grpcio server by reusing grpc_reflection's v1alpha servicer.

grpcio-reflection only ships v1alpha; the v1 messages have the same field numbers, so the
v1alpha servicer answers v1 requests byte for byte. It is mounted on raw bytes with a
generic handler under the v1 service name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc
from grpc_reflection.v1alpha import reflection as v1alpha
from grpc_reflection.v1alpha import reflection_pb2

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
METHOD = "ServerReflectionInfo"


def reflection_handler(servicer: Any, service_name: str = V1_SERVICE_NAME) -> grpc.GenericRpcHandler:
    """A generic handler serving a v1alpha-style servicer's ServerReflectionInfo under a name."""
    behaviour = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(service_name, {METHOD: behaviour})


def add_v1_reflection(
    server: grpc.Server | grpc.aio.Server,
    service_names: Iterable[str],
    pool: Any = None,
) -> None:
    """Serve grpc.reflection.v1 for `service_names` (plus itself) from `pool` on `server`.

    Works for `grpc.server` and `grpc.aio.server`; `pool=None` means the default pool.
    Call it before the server starts, like any handler registration.
    """
    names = tuple(dict.fromkeys((*service_names, V1_SERVICE_NAME)))
    servicer: Any
    if isinstance(server, grpc.aio.Server):
        servicer = v1alpha.aio.ReflectionServicer(names, pool=pool)
    else:
        servicer = v1alpha.ReflectionServicer(names, pool=pool)
    server.add_generic_rpc_handlers((reflection_handler(servicer),))
