"""Exit statuses (grpcurl-compatible) and the one function that maps errors to them."""

from __future__ import annotations

from enum import IntEnum

from rpcctl.errors import RpcError, UsageError


class ExitStatus(IntEnum):
    """How rpcctl ends; an RPC that failed exits with RPC_BASE + its code."""

    OK = 0
    ERROR = 1
    USAGE = 2
    RPC_BASE = 64
    INTERRUPTED = 130


def exit_status_for(exc: BaseException) -> int:
    """The exit status for an error that ended a command."""
    if isinstance(exc, KeyboardInterrupt):
        return ExitStatus.INTERRUPTED
    if isinstance(exc, RpcError):
        return ExitStatus.RPC_BASE + int(exc.code)
    if isinstance(exc, UsageError):
        return ExitStatus.USAGE
    return ExitStatus.ERROR
