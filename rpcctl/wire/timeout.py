"""Timeout headers (``grpc-timeout``, ``connect-timeout-ms``) and CLI durations.

gRPC over HTTP/2 (PROTOCOL-HTTP2.md, "Requests": TimeoutValue has at most 8 digits);
Connect protocol, "Unary-Request" (Timeout: at most 10 digits of milliseconds). The clamp
on huge values is rpcctl's own.

Timeouts are ``float`` seconds throughout; ``None`` means no timeout. A CLI duration is at
most ``MAX_DURATION_SECONDS``, the longest ``grpc-timeout`` can say (99999999H, about
11,400 years): anything longer is refused rather than sent as something else.
"""

from __future__ import annotations

import math
import re

from rpcctl.errors import ProtocolError, UsageError
from rpcctl.wire.status import Code

GRPC_TIMEOUT_HEADER = "grpc-timeout"
CONNECT_TIMEOUT_HEADER = "connect-timeout-ms"
GRPC_TIMEOUT_MAX_DIGITS = 8
CONNECT_TIMEOUT_MAX_DIGITS = 10
# Parsed values are clamped here (the int64 nanoseconds Go uses, ~292 years) so that
# 99999999H cannot overflow a deadline computation.
MAX_TIMEOUT_SECONDS = (2**63 - 1) / 1e9
MAX_DURATION_HOURS = 10**GRPC_TIMEOUT_MAX_DIGITS - 1
MAX_DURATION_SECONDS = MAX_DURATION_HOURS * 3600.0

_GRPC_UNITS_NS = {"H": 3600 * 10**9, "M": 60 * 10**9, "S": 10**9, "m": 10**6, "u": 10**3, "n": 1}
_GRPC_UNITS_FINEST_FIRST = ("n", "u", "m", "S", "M", "H")
_GRPC_LIMIT = 10**GRPC_TIMEOUT_MAX_DIGITS
# ASCII digits only: `\d` would read an Arabic-Indic "٣" as 3. Patterns are strings that `re`
# compiles on first use (and caches): most runs parse no timeout, and compiling costs ~50 µs each.
_GRPC_RE = r"([0-9]+)([HMSmun])"
_CONNECT_RE = r"[0-9]+"

_DURATION_UNITS = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ns": 1e-9,
}
_DURATION_PART = r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|μs|ns|h|m|s)"
_BARE_NUMBER = r"\d+(?:\.\d*)?|\.\d+"


def encode_grpc_timeout(seconds: float) -> str:
    """``grpc-timeout`` value: the finest unit whose value stays under 1e8; ≤ 0 is ``0n``.

    Longer than 99999999 hours (or not finite) is clamped to ``99999999H``, the largest
    value the header can carry.
    """
    if seconds <= 0:
        return "0n"
    if not math.isfinite(seconds) or seconds >= MAX_DURATION_SECONDS:
        return f"{MAX_DURATION_HOURS}H"
    nanos = max(1, round(seconds * 1e9))
    for unit in _GRPC_UNITS_FINEST_FIRST:
        value = nanos // _GRPC_UNITS_NS[unit]
        if value < _GRPC_LIMIT:
            return f"{value}{unit}"
    return f"{_GRPC_LIMIT - 1}H"


def parse_grpc_timeout(value: str) -> float | None:
    """Seconds from a ``grpc-timeout`` value; empty means none.

    Raises ProtocolError INVALID_ARGUMENT on a bad unit, a non-numeric or negative value,
    or more than 8 digits. Huge values are clamped to MAX_TIMEOUT_SECONDS.
    """
    value = value.strip()
    if not value:
        return None
    match = re.fullmatch(_GRPC_RE, value)
    if match is None:
        raise ProtocolError(Code.INVALID_ARGUMENT, f"protocol error: invalid timeout {value!r}")
    digits, unit = match.groups()
    if len(digits) > GRPC_TIMEOUT_MAX_DIGITS:
        raise ProtocolError(
            Code.INVALID_ARGUMENT, f"protocol error: timeout {value!r} has more than 8 digits"
        )
    return min(int(digits) * _GRPC_UNITS_NS[unit] / 1e9, MAX_TIMEOUT_SECONDS)


def encode_connect_timeout(seconds: float) -> str | None:
    """``connect-timeout-ms`` value, or None when it would need more than 10 digits.

    ≤ 0 gives ``"0"``; a positive timeout under 1 ms is rounded up to ``"1"``.
    """
    if seconds <= 0:
        return "0"
    if not math.isfinite(seconds):
        return None
    millis = max(1, int(seconds * 1000))
    text = str(millis)
    return text if len(text) <= CONNECT_TIMEOUT_MAX_DIGITS else None


def parse_connect_timeout(value: str) -> float | None:
    """Seconds from a ``connect-timeout-ms`` value; empty means none.

    Raises ProtocolError INVALID_ARGUMENT on a non-numeric value or more than 10 digits.
    """
    value = value.strip()
    if not value:
        return None
    if not re.fullmatch(_CONNECT_RE, value):
        raise ProtocolError(Code.INVALID_ARGUMENT, f"protocol error: invalid timeout {value!r}")
    if len(value) > CONNECT_TIMEOUT_MAX_DIGITS:
        raise ProtocolError(
            Code.INVALID_ARGUMENT, f"protocol error: timeout {value!r} has more than 10 digits"
        )
    return int(value) / 1000


def parse_duration(text: str, option: str = "") -> float:
    """Seconds from a CLI duration: ``5s``, ``250ms``, ``1m30s``, ``1.5s``, ``2h``, ``100us``.

    A bare number is seconds. Raises UsageError on anything else, including negatives and
    durations longer than ``MAX_DURATION_SECONDS`` (99999999h); ``option`` (e.g.
    ``--timeout``) starts the message when given.
    """
    spec = text.strip()
    lead = f"{option}: " if option else ""
    if re.fullmatch(_BARE_NUMBER, spec):
        return _bounded(float(spec), text, lead)
    total = 0.0
    pos = 0
    for match in re.finditer(_DURATION_PART, spec):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not spec or pos != len(spec):
        raise UsageError(
            f"{lead}invalid duration {quoted(text)}: use a number of seconds or units "
            "h, m, s, ms, us, ns (e.g. 1m30s, 250ms)"
        )
    return _bounded(total, text, lead)


def _bounded(seconds: float, text: str, lead: str) -> float:
    if not math.isfinite(seconds) or seconds > MAX_DURATION_SECONDS:
        raise UsageError(
            f"{lead}duration {quoted(text)} is too long: the longest is {MAX_DURATION_HOURS}h "
            "(the most a gRPC deadline can say, about 11,400 years)"
        )
    return seconds


def quoted(text: str) -> str:
    """The user's text, quoted for a message, with the middle of a very long one left out."""
    text = text.strip()
    return repr(text if len(text) <= 24 else f"{text[:10]}…{text[-10:]}")
