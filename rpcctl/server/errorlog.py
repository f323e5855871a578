"""The server's errors as one line each on rpcctl's loggers: never a traceback on stderr.

A peer can make the server fail as often as it likes, so each failure is one bounded line:
what failed, the exception's type and (shortened, newlines escaped) text. Records from the
server's loggers lose their traceback here, and so do the exceptions that reach the event
loop's exception handler (asyncio's default one prints a traceback per connection). With
``RPCCTL_DEBUG`` set the tracebacks stay, for whoever debugs rpcctl itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

LOGGERS = ("rpcctl.server", "rpcctl.server.hypercorn")
MAX_TEXT = 200
DEBUG_VARIABLE = "RPCCTL_DEBUG"

log = logging.getLogger("rpcctl.server")


def bounded(text: str, limit: int = MAX_TEXT) -> str:
    """`text` on one line and at most `limit` characters (an ellipsis marks a cut)."""
    flat = text.replace("\r", "\\r").replace("\n", "\\n")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(exc: BaseException) -> str:
    """``Type: text`` of an exception; for an exception group, of its first leaf."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc)
    return f"{type(exc).__name__}: {bounded(text)}" if text else type(exc).__name__


def _debugging() -> bool:
    return bool(os.environ.get(DEBUG_VARIABLE))


class OneLine(logging.Filter):
    """Folds a record's exception into its message and drops the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite `record` in place; never drops one."""
        exc = record.exc_info[1] if record.exc_info else None
        if _debugging():
            return True
        message = record.getMessage()
        if exc is not None:
            message = f"{message}: {describe(exc)}"
        record.msg = bounded(message, 2 * MAX_TEXT)
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


_FILTER = OneLine()


def install() -> None:
    """Put the one-line filter on the server's loggers (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An event loop exception handler that logs one line on ``rpcctl.server``."""
    if _debugging():
        loop.default_exception_handler(context)
        return
    message = str(context.get("message") or "unhandled error in the event loop")
    exc = context.get("exception")
    if isinstance(exc, BaseException):
        log.error("%s: %s", bounded(message), describe(exc))
    else:
        log.error("%s", bounded(message))
