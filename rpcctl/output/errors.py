"""Errors as the user reads them: one line, then the decoded status details."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from rpcctl.errors import RpcError
from rpcctl.wire.metadata import sanitize_for_terminal
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.schema.registry import Schema


# What rpcctl's own size limit says when an answer is over it (rpcctl.wire.envelope,
# rpcctl.wire.compression, the HTTP/1.1 and HTTP/2 body readers).
_OVER_OUR_LIMIT = re.compile(
    r"(?:message size \d+ is )?larger than (?:the )?(?:configured max(?: of)? )?\d+(?: bytes)?$"
)

# What the protocols say when the answer's content type is not the codec asked for.
_OTHER_CODEC = re.compile(r"does not match the (json|proto) codec$")


def error_line(exc: BaseException) -> str:
    """The one line that explains an error."""
    if isinstance(exc, RpcError):
        message = sanitize_for_terminal(exc.message) if exc.message else "(no message)"
        if exc.code is Code.RESOURCE_EXHAUSTED and _OVER_OUR_LIMIT.search(message):
            message += " (the answer is over --max-msg-size: raise it, e.g. --max-msg-size 64MiB)"
        elif codec := _OTHER_CODEC.search(message):
            other = "proto" if codec[1] == "json" else "json"
            message += f" (the server does not answer in {codec[1]} here: try --codec {other})"
        return f"error: {exc.code.name} ({int(exc.code)}): {message}"
    return f"error: {sanitize_for_terminal(str(exc))}"


def error_details(exc: RpcError, schema: Schema | None) -> list[dict[str, Any]]:
    """The status details of an RPC error, decoded through the schema where possible."""
    from rpcctl.schema.details import render_detail

    return [render_detail(detail, schema) for detail in exc.details]


def render_error(exc: BaseException, schema: Schema | None = None) -> str:
    """The error line and, for an RPC error, one JSON line per detail."""
    lines = [error_line(exc)]
    if isinstance(exc, RpcError) and exc.details:
        for detail in error_details(exc, schema):
            text = json.dumps(detail, ensure_ascii=False, separators=(", ", ": "))
            lines.append("  detail: " + sanitize_for_terminal(text))
    return "\n".join(lines)
