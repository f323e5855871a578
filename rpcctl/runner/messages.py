"""The RunnerService message classes and method infos of a schema.

The runner schema is compiled at run time (`Schema(bundled_files())`), so its message
classes come from the schema's pool rather than from generated `_pb2` modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.protobuf.descriptor import MethodDescriptor
    from google.protobuf.message import Message

    from rpcctl.call import MethodInfo
    from rpcctl.schema.registry import Schema

PACKAGE = "pkg.proto.runner.v1"
SERVICE = f"{PACKAGE}.RunnerService"
METHODS = ("Ping", "Register", "Declare", "FetchTask", "UpdateTask", "UpdateLog")


class RunnerMessages:
    """Builds RunnerService messages by short name: `types.new("PingRequest", data="x")`."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._service = schema.find_service(SERVICE)

    def cls(self, name: str) -> type[Message]:
        """The message class `pkg.proto.runner.v1.<name>`."""
        desc = self.schema.pool.FindMessageTypeByName(f"{PACKAGE}.{name}")
        return self.schema.message_class(desc)

    def new(self, type_name: str, /, **fields: Any) -> Any:
        """A new message `<type_name>` with `fields` set (typed `Any`: dynamic classes)."""
        return self.cls(type_name)(**fields)

    def method(self, name: str) -> MethodDescriptor:
        """The descriptor of RunnerService method `name`."""
        return self._service.methods_by_name[name]

    def method_info(self, name: str) -> MethodInfo:
        """What a channel needs to call RunnerService method `name`."""
        from rpcctl.call import MethodInfo

        return MethodInfo.from_descriptor(self.method(name))
