"""grpc-timeout, connect-timeout-ms and CLI durations."""

from __future__ import annotations

import pytest

from rpcctl.errors import ProtocolError, UsageError
from rpcctl.wire.status import Code
from rpcctl.wire.timeout import (
    MAX_TIMEOUT_SECONDS,
    encode_connect_timeout,
    encode_grpc_timeout,
    parse_connect_timeout,
    parse_duration,
    parse_grpc_timeout,
)


@pytest.mark.parametrize(
    "seconds,expected",
    [
        (0, "0n"),
        (-1, "0n"),
        (1e-9, "1n"),
        (0.05, "50000000n"),
        (0.1, "100000u"),
        (0.25, "250000u"),
        (1, "1000000u"),
        (99.999, "99999000u"),
        (100, "100000m"),
        (1e5, "100000S"),
        (1e8, "1666666M"),
        (6e9, "1666666H"),
        (1e20, "99999999H"),
    ],
)
def test_encode_grpc_timeout(seconds: float, expected: str) -> None:
    assert encode_grpc_timeout(seconds) == expected


def test_encoded_values_have_at_most_8_digits() -> None:
    for exponent in range(-9, 15):
        value = encode_grpc_timeout(3.7 * 10**exponent)
        assert len(value) <= 9


@pytest.mark.parametrize(
    "value,expected",
    [
        ("1S", 1.0),
        ("250m", 0.25),
        ("100u", 1e-4),
        ("5n", 5e-9),
        ("2M", 120.0),
        ("1H", 3600.0),
        ("0n", 0.0),
        ("99999999S", 99999999.0),
        ("", None),
        ("  ", None),
    ],
)
def test_parse_grpc_timeout(value: str, expected: float | None) -> None:
    assert parse_grpc_timeout(value) == expected


def test_parse_grpc_timeout_clamps_huge() -> None:
    # 99999999H is about 11,400 years: rpcctl clamps it (its own limit).
    assert parse_grpc_timeout("99999999H") == MAX_TIMEOUT_SECONDS


@pytest.mark.parametrize("value", ["1", "S", "1s", "1h", "-1S", "+1S", "1.5S", "123456789S", "1 S"])
def test_parse_grpc_timeout_invalid(value: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_grpc_timeout(value)
    assert info.value.code is Code.INVALID_ARGUMENT


@pytest.mark.parametrize(
    "seconds,expected",
    [(0.2, "200"), (1.5, "1500"), (0.0001, "1"), (0, "0"), (9_999_999.999, "9999999999")],
)
def test_encode_connect_timeout(seconds: float, expected: str) -> None:
    assert encode_connect_timeout(seconds) == expected


def test_encode_connect_timeout_too_long_is_omitted() -> None:
    assert encode_connect_timeout(10_000_000) is None


@pytest.mark.parametrize(
    "value,expected", [("200", 0.2), ("0", 0.0), ("9999999999", 9999999.999), ("", None)]
)
def test_parse_connect_timeout(value: str, expected: float | None) -> None:
    assert parse_connect_timeout(value) == expected


@pytest.mark.parametrize("value", ["12345678901", "-1", "1.5", "abc", "1s"])
def test_parse_connect_timeout_invalid(value: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_connect_timeout(value)
    assert info.value.code is Code.INVALID_ARGUMENT


@pytest.mark.parametrize(
    "text,expected",
    [
        ("5s", 5.0),
        ("250ms", 0.25),
        ("1m30s", 90.0),
        ("1.5s", 1.5),
        ("2h", 7200.0),
        ("100us", 1e-4),
        ("100µs", 1e-4),
        ("10ns", 1e-8),
        ("3", 3.0),
        ("0.5", 0.5),
        (".5s", 0.5),
        (" 1h2m3s ", 3723.0),
    ],
)
def test_parse_duration(text: str, expected: float) -> None:
    assert parse_duration(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "s", "-5s", "5x", "5 s", "1m30", "ms", "1.2.3s", "inf"])
def test_parse_duration_invalid(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)
