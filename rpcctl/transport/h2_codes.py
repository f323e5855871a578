"""HTTP/2 error codes (RFC 9113 §7) and what a call reports when a stream ends with one."""

from __future__ import annotations

import enum

from rpcctl.errors import RpcError
from rpcctl.wire.status import Code


class ErrorCode(enum.IntEnum):
    """The error codes of RST_STREAM and GOAWAY frames (RFC 9113 §7)."""

    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD


# RST_STREAM codes with a gRPC meaning (gRPC's PROTOCOL-HTTP2.md, "Errors"); every other is INTERNAL.
_RESET_CODES: dict[int, Code] = {
    ErrorCode.REFUSED_STREAM: Code.UNAVAILABLE,
    ErrorCode.CANCEL: Code.CANCELLED,
    ErrorCode.ENHANCE_YOUR_CALM: Code.RESOURCE_EXHAUSTED,
    ErrorCode.INADEQUATE_SECURITY: Code.PERMISSION_DENIED,
}


def error_name(code: int) -> str:
    """The RFC 9113 name of an error code (its number when unknown)."""
    try:
        return ErrorCode(code).name
    except ValueError:
        return str(code)


def reset_error(code: int, *, answered: bool = False) -> RpcError:
    """The error a call ends with when the server resets its stream with `code`.

    `answered`: the response head had arrived, so the reset cut the response off; the message
    says so (and `rpcctl.hints` does not take it for a server that never answered).
    """
    reason = f"stream reset by the server ({error_name(code)})"
    if answered:
        reason = f"the response was cut off: {reason}"
    return RpcError(_RESET_CODES.get(code, Code.INTERNAL), reason)
