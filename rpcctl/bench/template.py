"""Per-call templates: `{{seq}}` `{{worker}}` `{{uuid}}` `{{now_ns}}` `{{rand_int A B}}` `{{rand_str N}}`.

A template is parsed once into literal pieces and generator functions; rendering a call only
joins strings. Text without placeholders compiles to a `Template` whose `static` is true, so the
caller can encode it once and never render it again.
"""

from __future__ import annotations

import random
import re
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from rpcctl.errors import UsageError

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)((?:\s+[^\s{}]+)*)\s*\}\}")
RAND_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class CallContext:
    """What a template may refer to: the call's sequence number and the worker making it."""

    seq: int
    worker: int


Piece = Callable[[CallContext], str]


def _seq(ctx: CallContext) -> str:
    return str(ctx.seq)


def _worker(ctx: CallContext) -> str:
    return str(ctx.worker)


def _uuid(ctx: CallContext) -> str:
    return str(uuid.uuid4())


def _now_ns(ctx: CallContext) -> str:
    return str(time.time_ns())


def _rand_int(low: int, high: int) -> Piece:
    def piece(ctx: CallContext) -> str:
        return str(random.randint(low, high))

    return piece


def _rand_str(size: int) -> Piece:
    def piece(ctx: CallContext) -> str:
        return "".join(random.choices(RAND_ALPHABET, k=size))

    return piece


def _ints(name: str, args: list[str], count: int) -> list[int]:
    if len(args) != count:
        raise UsageError(f"template {{{{{name}}}}} takes {count} integer argument(s)")
    try:
        return [int(arg) for arg in args]
    except ValueError:
        raise UsageError(f"template {{{{{name}}}}}: arguments must be integers, not {args}") from None


def _compile_piece(name: str, args: list[str]) -> Piece:
    simple: dict[str, Piece] = {"seq": _seq, "worker": _worker, "uuid": _uuid, "now_ns": _now_ns}
    if name in simple:
        _ints(name, args, 0)
        return simple[name]
    if name == "rand_int":
        low, high = _ints(name, args, 2)
        if low > high:
            raise UsageError(f"template {{{{rand_int {low} {high}}}}}: A must not exceed B")
        return _rand_int(low, high)
    if name == "rand_str":
        (size,) = _ints(name, args, 1)
        if size < 0:
            raise UsageError("template {{rand_str N}}: N must not be negative")
        return _rand_str(size)
    known = "seq, worker, uuid, now_ns, rand_int A B, rand_str N"
    raise UsageError(f"unknown template function {name!r}: use {known}")


class Template:
    """A text with placeholders, compiled once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._pieces: list[str | Piece] = []
        pos = 0
        for match in PLACEHOLDER.finditer(text):
            if match.start() > pos:
                self._pieces.append(text[pos : match.start()])
            self._pieces.append(_compile_piece(match[1], match[2].split()))
            pos = match.end()
        if pos < len(text):
            self._pieces.append(text[pos:])

    @property
    def static(self) -> bool:
        """True when the text has no placeholder (render it never; use `text`)."""
        return all(isinstance(piece, str) for piece in self._pieces)

    def render(self, ctx: CallContext) -> str:
        """The text of one call."""
        return "".join(piece if isinstance(piece, str) else piece(ctx) for piece in self._pieces)
