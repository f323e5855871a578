"""Status codes and their Connect names and HTTP mappings.

gRPC's statuscodes.md and http-grpc-status-mapping.md; Connect protocol, "Error Codes".
"""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    """The gRPC status codes; Connect uses the same set under snake_case names."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    @classmethod
    def from_number(cls, number: int) -> Code:
        """The code for a wire number; numbers outside 0-16 are UNKNOWN."""
        try:
            return cls(number)
        except ValueError:
            return cls.UNKNOWN

    @property
    def connect_name(self) -> str:
        """The Connect protocol's name: ``canceled`` has one L."""
        return "canceled" if self is Code.CANCELLED else self.name.lower()

    @classmethod
    def from_connect_name(cls, name: str) -> Code:
        """The code for a Connect error string; unknown strings are UNKNOWN."""
        return _BY_CONNECT_NAME.get(name, cls.UNKNOWN)

    @property
    def connect_http_status(self) -> int:
        """The HTTP status a Connect server answers with for this code."""
        return _CONNECT_HTTP[self]

    @classmethod
    def from_http_status(cls, status: int) -> Code:
        """The code implied by an HTTP status when the body carries none.

        gRPC's http-grpc-status-mapping.md; Connect protocol, "HTTP to Error Code".
        """
        return _FROM_HTTP.get(status, cls.UNKNOWN)


_BY_CONNECT_NAME = {code.connect_name: code for code in Code if code is not Code.OK}

_CONNECT_HTTP = {
    Code.OK: 200,
    Code.CANCELLED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}

# 431 is UNKNOWN, as the Connect conformance suite expects (the newest
# http-grpc-status-mapping.md says INTERNAL).
_FROM_HTTP = {
    400: Code.INTERNAL,
    401: Code.UNAUTHENTICATED,
    403: Code.PERMISSION_DENIED,
    404: Code.UNIMPLEMENTED,
    429: Code.UNAVAILABLE,
    502: Code.UNAVAILABLE,
    503: Code.UNAVAILABLE,
    504: Code.UNAVAILABLE,
}


def http_status_text(http_status: int) -> str:
    """``HTTP 404 Not Found``: the status with its RFC 9110 §15 reason phrase, if it has one."""
    from http import HTTPStatus  # ~0.6 ms (a 60-member enum): only a failed call names a status

    try:
        return f"HTTP {http_status} {HTTPStatus(http_status).phrase}"
    except ValueError:
        return f"HTTP {http_status}"
