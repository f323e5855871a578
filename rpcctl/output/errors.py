"""Errors as the user reads them: one line, then the decoded status details."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from rpcctl.errors import RpcError
from rpcctl.wire.metadata import clip, sanitize_for_terminal
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.schema.registry import Schema


# What a size limit says when a message is over it (rpcctl.wire.envelope, the HTTP/1.1 and
# HTTP/2 body readers, rpcctl.wire.compression): the limit is the last number.
_OVER_A_LIMIT = re.compile(r"larger than (?:the )?(?:configured max(?: of)? )?(\d+)(?: bytes)?$")
DETAIL_LIMIT = 4096  # characters of one status detail printed (a peer's may be 64 KiB or more)
MAX_MSG_SIZE_HINT = " (the answer is over --max-msg-size: raise it, e.g. --max-msg-size 64MiB)"

# What the protocols say when the answer's content type is not the codec asked for.
_OTHER_CODEC = re.compile(r"does not match the (json|proto) codec$")


def error_line(exc: BaseException) -> str:
    """The one line that explains an error."""
    if isinstance(exc, RpcError):
        # A peer's newline would start a line that looks like rpcctl's own: shown as \n.
        message = sanitize_for_terminal(exc.message).replace("\n", "\\n") if exc.message else "(no message)"
        if codec := _OTHER_CODEC.search(message):
            other = "proto" if codec[1] == "json" else "json"
            message += f" (the server does not answer in {codec[1]} here: try --codec {other})"
        return f"error: {exc.code.name} ({int(exc.code)}): {message}"
    return f"error: {sanitize_for_terminal(str(exc))}"


def over_max_msg_size(
    exc: RpcError, limit: int, largest_sent: int, *, compressed: bool = False
) -> RpcError | None:
    """`exc` with a hint to raise --max-msg-size, when an answer crossed our `limit`; None when
    the hint does not apply.

    A RESOURCE_EXHAUSTED naming `limit` is ours when no request was larger than the limit, or
    when its words can only be a client's (a *response* body; a *decompressed* message when
    our requests went uncompressed): a server refusing a request says the same words with its
    own limit, which then equals ours only by chance.
    """
    match = _OVER_A_LIMIT.search(exc.message)
    if exc.code is not Code.RESOURCE_EXHAUSTED or match is None or int(match[1]) != limit:
        return None
    words = exc.message
    ours = (
        largest_sent <= limit
        or words.startswith("response")
        or (words.startswith("decompressed") and not compressed)
    )
    if not ours or words.startswith("request"):
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
            lines.append("  detail: " + clip(sanitize_for_terminal(text), DETAIL_LIMIT))
    return "\n".join(lines)
