"""One detail of a status: a `google.protobuf.Any`, kept as its type URL and serialized value.

gRPC's richer error model (grpc.io/docs/guides/error: `google.rpc.Status.details`) and the
Connect protocol's "Error" details carry them. A module of its own so that a call that ends
with OK, the usual case, never builds the class.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorDetail:
    """One `google.protobuf.Any` of a status: its type URL and its serialized value."""

    type_url: str
    value: bytes

    @property
    def type_name(self) -> str:
        """The full message name, the part of the URL after the last '/'."""
        return self.type_url.rsplit("/", 1)[-1]
