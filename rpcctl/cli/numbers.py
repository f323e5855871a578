"""Numeric option values: byte sizes such as ``4MiB``, checked against the range they may take.

A value out of range is a `UsageError` (exit 2) whose message gives the valid range, so
a user never meets an overflow deep inside a call.
"""

from __future__ import annotations

import re

from rpcctl.errors import UsageError
from rpcctl.wire.timeout import quoted

MAX_MESSAGE_BYTES = 2**32 - 1
"""The largest message a length prefix can announce: gRPC's Length-Prefixed-Message
carries a 4-byte unsigned length (PROTOCOL-HTTP2.md, "Requests"), as do gRPC-Web and
Connect streaming envelopes."""

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmg]?)(i?)(b?)", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3}


def parse_size(value: str | int, option: str, *, low: int = 1, high: int = MAX_MESSAGE_BYTES) -> int:
    """Bytes from ``1048576``, ``512KiB``, ``4MiB``, ``1GB`` (binary ``KiB``/``MiB``/``GiB`` and
    bare ``K``/``M``/``G`` are powers of 1024; ``kB``/``MB``/``GB`` powers of 1000).

    Raises `UsageError` naming ``option`` and the range ``low``..``high`` when the value is not
    a size or lies outside that range.
    """
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.fullmatch(value.strip())
        if match is None:
            raise UsageError(
                f"{option}: {quoted(str(value))} is not a size: give bytes, e.g. 1048576, 512KiB or 4MiB"
            )
        number, prefix, binary, byte = match.groups()
        base = 1000 if byte and not binary else 1024
        size = int(float(number) * base ** _POWERS[prefix.lower()])
    if not low <= size <= high:
        raise UsageError(
            f"{option} must be between {low} and {high} bytes ({_human(high)}), not {quoted(str(value))}"
        )
    return size


def _human(size: int) -> str:
    for unit, power in (("GiB", 3), ("MiB", 2), ("KiB", 1)):
        if size >= 1024**power - 1:
            exact = size % 1024**power == 0
            return f"{size / 1024**power:g} {unit}" if exact else f"about {round(size / 1024**power)} {unit}"
    return f"{size} bytes"
