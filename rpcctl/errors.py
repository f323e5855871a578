"""The exception tree of rpcctl.

Every layer raises these; foreign exceptions (grpc, httpx, h2, protobuf) are
translated at the boundary with ``raise ... from exc``. The CLI maps each class
to one exit status (see ``rpcctl.cli.exit``)::

    RpcctlError
    ├── UsageError           bad input: JSON, unknown method or field, bad option (exit 2)
    │   └── SchemaError      unreadable .proto, protoset that is not one, symbol not found
    ├── TransportError       could not connect, TLS failure, I/O (exit 1)
    └── RpcError             the RPC ended with a non-OK status (exit 64 + code)
        └── ProtocolError    the peer broke the wire protocol; carries the code the spec gives
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.wire.error_detail import ErrorDetail


class RpcctlError(Exception):
    """Base class of every error rpcctl raises on purpose."""


class UsageError(RpcctlError):
    """The user asked for something that cannot be done as asked."""


class SchemaError(UsageError):
    """A schema source could not be read, compiled or resolved."""


class TransportError(RpcctlError):
    """Bytes could not be moved: connection refused, DNS, TLS, reset."""


@dataclass(frozen=True)
class Status:
    """An RPC's final status: code, message, details and the trailing metadata."""

    code: Code
    message: str = ""
    details: Sequence[ErrorDetail] = field(default_factory=tuple)


class RpcError(RpcctlError):
    """The RPC finished with a non-OK status."""

    def __init__(
        self,
        code: Code,
        message: str = "",
        details: Sequence[ErrorDetail] = (),
        metadata: Sequence[tuple[str, str | bytes]] = (),
    ) -> None:
        super().__init__(f"{code.name}: {message}" if message else code.name)
        self.code = code
        self.message = message
        self.details = tuple(details)
        self.metadata = tuple(metadata)

    @property
    def status(self) -> Status:
        """This error as a `Status` record."""
        return Status(self.code, self.message, self.details)


class ProtocolError(RpcError):
    """The peer violated the wire protocol (bad framing, content type, trailers)."""
