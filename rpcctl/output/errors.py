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


# What a size limit says when a message is over it (rpcctl.wire.envelope, the HTTP/1.1 and
# HTTP/2 body readers, rpcctl.wire.compression): the limit is the last number.
_OVER_A_LIMIT = re.compile(r"larger than (?:the )?(?:configured max(?: of)? )?(\d+)(?: bytes)?$")
MAX_MSG_SIZE_HINT = " (the answer is over --max-msg-size: raise it, e.g. --max-msg-size 64MiB)"

# What the protocols say when the answer's content type is not the codec asked for.
_OTHER_CODEC = re.compile(r"does not match the (json|proto) codec$")


def error_line(exc: BaseException) -> str:
    """The one line that explains an error."""
    if isinstance(exc, RpcError):
        message = sanitize_for_terminal(exc.message) if exc.message else "(no message)"
        if codec := _OTHER_CODEC.search(message):
            other = "proto" if codec[1] == "json" else "json"
            message += f" (the server does not answer in {codec[1]} here: try --codec {other})"
        return f"error: {exc.code.name} ({int(exc.code)}): {message}"
    return f"error: {sanitize_for_terminal(str(exc))}"


def over_max_msg_size(exc: RpcError, limit: int, largest_sent: int) -> RpcError | None:
    """`exc` with a hint to raise --max-msg-size, when an answer crossed our `limit`: a
    RESOURCE_EXHAUSTED that names `limit`, after requests no larger than it. A server that
    refuses a request says the same words with its own limit, which only a request larger
    than that limit can have crossed. None when the hint does not apply."""
    match = _OVER_A_LIMIT.search(exc.message)
    if exc.code is not Code.RESOURCE_EXHAUSTED or match is None or int(match[1]) != limit:
        return None
    if largest_sent > limit or exc.message.startswith("request"):
        return None
    return RpcError(exc.code, exc.message + MAX_MSG_SIZE_HINT, exc.details, exc.metadata)


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
