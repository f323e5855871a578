"""Which runner made a call, and which task a FetchTask answer handed out.

Attribution rules (the log model applies them in this order):

1. Register and Declare answers (`RunnerResponse`) name a runner: its uuid is the key;
   its token, the token a Declare request carried, and the peer address of the call
   are remembered as pointing at that runner. (A Register request's token is the
   shared registration token, so it is not.)
2. A later call's runner is the one its token names: the `token` field of a
   FetchTask request, else a token header (`x-runner-token`, `x-token`, `token`, or
   `authorization: Bearer …`) unless a capture redacted it to `[REDACTED]` (a redacted
   message token, `[REDACTED:1a2b3c4d]`, is per token and still counts); failing that, the runner
   last seen at the same peer address; failing that, the unknown runner.
3. A successful FetchTask answer hands its task to the runner of rule 2: the task id is
   the `tx_uuid`/`txUuid`/`tx`/`uuid` key of the `content` when that parses as a JSON
   object (searched two levels deep), else the first UUID in the `content` text.
4. A task first seen in UpdateTask or UpdateLog without rule 3 goes to the runner of
   that call (rule 2); a task left with the unknown runner moves to the first runner a
   later call of it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rpcctl import jsonsafe

TOKEN_HEADERS = ("x-runner-token", "x-token", "token", "authorization")
"""Request headers that may carry a runner's token, lower case."""

TX_KEYS = ("tx_uuid", "txUuid", "tx", "uuid")
"""Keys of a task document that may hold its task id, most specific first."""

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A redacted header value is one constant for every runner, so it names nobody; a redacted
# message token ("[REDACTED:1a2b3c4d]") is distinct per token and still attributes.
_UNUSABLE_TOKENS = frozenset({"[redacted]", "redacted", "***"})


def token_from_headers(headers: Iterable[Any], names: tuple[str, ...] = TOKEN_HEADERS) -> str:
    """The runner token in a START event's headers (`[name, value]` pairs), or ''."""
    for pair in headers:
        try:
            name, value = pair
        except (TypeError, ValueError):
            continue
        if not isinstance(name, str) or not isinstance(value, str) or name.lower() not in names:
            continue
        token = value.strip()
        if name.lower() == "authorization":
            scheme, _, rest = token.partition(" ")
            if scheme.lower() not in ("bearer", "token") or not rest:
                continue
            token = rest.strip()
        if token and token.lower() not in _UNUSABLE_TOKENS:
            return token
    return ""


def tx_from_content(content: str) -> str:
    """The task id a FetchTask answer's `content` carries, or '' (rule 3)."""
    if not content:
        return ""
    try:
        document = jsonsafe.loads(content)
    except ValueError:
        document = None
    if isinstance(document, dict):
        found = _tx_in_mapping(document, depth=2)
        if found:
            return found
    match = _UUID.search(content)
    return match.group(0) if match else ""


def _tx_in_mapping(mapping: dict[str, Any], depth: int) -> str:
    for key in TX_KEYS:
        value = mapping.get(key)
        if isinstance(value, str) and value:
            return value
    if depth > 0:
        for value in mapping.values():
            if isinstance(value, dict):
                found = _tx_in_mapping(value, depth - 1)
                if found:
                    return found
    return ""
