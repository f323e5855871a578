"""The descriptors of the built-in services: reflection v1 and v1alpha, and grpc.health.v1.

v1alpha comes from grpcio-reflection; v1 is the same file under the v1 package (the two
versions of grpc-proto's reflection.proto have identical messages and field numbers).
grpc.health.v1 is written out here, as grpcio-health-checking is not a dependency.
"""

from __future__ import annotations

import functools

from google.protobuf import descriptor_pb2, text_format

from rpcctl.schema.registry import Schema

REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
REFLECTION_V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"
HEALTH = "grpc.health.v1.Health"
BUILTIN_SERVICES = (REFLECTION_V1, REFLECTION_V1ALPHA, HEALTH)

_HEALTH_FILE = """
name: "grpc/health/v1/health.proto"
package: "grpc.health.v1"
syntax: "proto3"
message_type {
  name: "HealthCheckRequest"
  field { name: "service" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "service" }
}
message_type {
  name: "HealthCheckResponse"
  field {
    name: "status" number: 1 label: LABEL_OPTIONAL type: TYPE_ENUM
    type_name: ".grpc.health.v1.HealthCheckResponse.ServingStatus" json_name: "status"
  }
  enum_type {
    name: "ServingStatus"
    value { name: "UNKNOWN" number: 0 }
    value { name: "SERVING" number: 1 }
    value { name: "NOT_SERVING" number: 2 }
    value { name: "SERVICE_UNKNOWN" number: 3 }
  }
}
service {
  name: "Health"
  method {
    name: "Check"
    input_type: ".grpc.health.v1.HealthCheckRequest"
    output_type: ".grpc.health.v1.HealthCheckResponse"
  }
  method {
    name: "Watch"
    input_type: ".grpc.health.v1.HealthCheckRequest"
    output_type: ".grpc.health.v1.HealthCheckResponse"
    server_streaming: true
  }
}
options { java_package: "io.grpc.health.v1" go_package: "google.golang.org/grpc/health/grpc_health_v1" }
"""


def _reflection_files() -> list[descriptor_pb2.FileDescriptorProto]:
    from grpc_reflection.v1alpha import reflection_pb2

    v1alpha = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(v1alpha)
    v1alpha.name = "grpc/reflection/v1alpha/reflection.proto"  # its upstream name
    # Rename the package everywhere it appears (type names are fully qualified).
    text = text_format.MessageToString(v1alpha)
    text = text.replace("grpc.reflection.v1alpha", "grpc.reflection.v1")
    v1 = text_format.Parse(text, descriptor_pb2.FileDescriptorProto())
    v1.name = "grpc/reflection/v1/reflection.proto"
    v1.options.ClearField("deprecated")
    v1.options.java_package = "io.grpc.reflection.v1"
    v1.options.go_package = "google.golang.org/grpc/reflection/grpc_reflection_v1"
    return [v1, v1alpha]


@functools.cache
def builtin_schema() -> Schema:
    """The schema of the built-in services (built once)."""
    health = text_format.Parse(_HEALTH_FILE, descriptor_pb2.FileDescriptorProto())
    return Schema([*_reflection_files(), health])
