"""HTTP/2 error codes as rpcctl reports them, for both HTTP/2 clients (`h2_connection`, `lean_h2`)."""

from __future__ import annotations

import h2.errors

from rpcctl.errors import RpcError
from rpcctl.wire.status import Code

# RST_STREAM codes with a gRPC meaning (gRPC's HTTP/2 transport spec); every other is INTERNAL.
_RESET_CODES: dict[int, Code] = {
    h2.errors.ErrorCodes.REFUSED_STREAM: Code.UNAVAILABLE,
    h2.errors.ErrorCodes.CANCEL: Code.CANCELLED,
    h2.errors.ErrorCodes.ENHANCE_YOUR_CALM: Code.RESOURCE_EXHAUSTED,
    h2.errors.ErrorCodes.INADEQUATE_SECURITY: Code.PERMISSION_DENIED,
}


def error_name(code: int) -> str:
    """The RFC 9113 name of an error code (its number when unknown)."""
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return str(code)


def reset_error(code: int) -> RpcError:
    """The error a call ends with when the server resets its stream with `code`."""
    return RpcError(_RESET_CODES.get(code, Code.INTERNAL), f"stream reset by the server ({error_name(code)})")
