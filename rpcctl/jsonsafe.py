"""Bounded JSON parsing: the one `loads` for every JSON text a user or a peer hands rpcctl.

Python's `json` turns two kinds of hostile input into exceptions nobody expects from a
parser: nesting deeper than the interpreter's stack raises `RecursionError`, and an integer
longer than `sys.get_int_max_str_digits()` (4,300 digits) raises a bare `ValueError`. Here
both become `json.JSONDecodeError` (a `ValueError`) with a position, as any malformed JSON
does, so callers keep one ``except`` and one error path. Nesting is bounded at `MAX_DEPTH`
levels whatever the stack depth, so a value that parses here can also be walked, printed
and converted to a message (protobuf's JSON parser stops at 100 message levels).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

MAX_DEPTH = 200
"""Deepest nesting of arrays and objects accepted (RFC 8259 section 9 lets parsers set one)."""


class NestingError(json.JSONDecodeError):
    """A JSON text nested deeper than the limit (or than the stack allows)."""


# A string, or an unterminated one to the end of the text (then the JSON is bad anyway):
# requiring the closing quote made every later quote rescan the rest (quadratic). Compiled by
# `re` on first use: only a text with more brackets than the limit is scanned.
_TOKEN = r'"(?:[^"\\]|\\.)*"?|[\[\]{}]'
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def loads(data: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """Parse one JSON text (RFC 8259); bytes must be UTF-8.

    Raises `json.JSONDecodeError` on malformed JSON, bytes that are not UTF-8, nesting
    deeper than ``max_depth`` (`NestingError`, a subclass) and integers too long for Python;
    never RecursionError.
    ``kwargs`` go to `json.loads` (``object_pairs_hook`` and the like).
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError("not UTF-8", "", exc.start) from None
    else:
        text = data
    if text.count("[") + text.count("{") > max_depth:
        _check_depth(text, max_depth)
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise NestingError(f"nested deeper than {max_depth} levels", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise
        raise json.JSONDecodeError(_long_number(), text, _long_number_at(text)) from None


def _check_depth(text: str, max_depth: int) -> None:
    depth = 0
    for match in re.finditer(_TOKEN, text, re.DOTALL):
        delta = _DELTA.get(match.group())
        if delta is None:
            continue
        depth += delta
        if depth > max_depth:
            raise NestingError(f"nested deeper than {max_depth} levels", text, match.start())


def _long_number() -> str:
    limit = sys.get_int_max_str_digits() or 4300
    return f"number longer than {limit} digits"


def _long_number_at(text: str) -> int:
    limit = sys.get_int_max_str_digits() or 4300
    # Anchored after a non-digit: unanchored, the search restarted inside every shorter run of
    # digits (0.4 MB of 4,300-digit numbers took 1.7 s; now a few ms).
    match = re.search(rf"(?<![0-9])-?[0-9]{{{limit + 1},}}", text)
    return match.start() if match else 0
