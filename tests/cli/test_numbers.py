"""Numeric options: out-of-range values exit 2 naming the valid range; the largest valid ones work."""

from __future__ import annotations

import pytest

from rpcctl.cli.numbers import MAX_MESSAGE_BYTES, parse_size
from rpcctl.errors import UsageError
from rpcctl.wire.timeout import encode_connect_timeout, encode_grpc_timeout, parse_duration
from tests.conftest import GrpcServer
from tests.support.cli import CliResult, run_cli

G = ("--protocol", "grpc")


def _refused(result: CliResult, *words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr


def test_timeout_of_300_digits_is_refused_with_the_longest() -> None:
    result = run_cli("call", "127.0.0.1:1", "Echo", *G, "--timeout", "9" * 300 + "s")
    _refused(result, "--timeout", "too long", "99999999h")
    assert "9" * 30 not in result.stderr  # the value is shortened, not echoed whole


def test_largest_grpc_timeout_reaches_the_server(grpc_server: GrpcServer) -> None:
    result = run_cli(
        "call", grpc_server.target, "Echo", *G, "--timeout", "99999999h", "-d", '{"message": "hi"}'
    )
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "hi"


def test_one_hour_more_than_grpc_can_say_is_refused() -> None:
    _refused(run_cli("call", "127.0.0.1:1", "Echo", "--timeout", "100000000h"), "99999999h")


def test_connect_timeout_is_named_when_invalid() -> None:
    _refused(run_cli("call", "127.0.0.1:1", "Echo", "--connect-timeout", "soon"), "--connect-timeout", "soon")


@pytest.mark.parametrize("value", ["99999999999", "0", "5GiB"])
def test_max_msg_size_out_of_range(value: str) -> None:
    _refused(run_cli("call", "127.0.0.1:1", "Echo", "--max-msg-size", value), "--max-msg-size", "4294967295")


def test_max_msg_size_not_a_number() -> None:
    _refused(run_cli("call", "127.0.0.1:1", "Echo", "--max-msg-size", "lots"), "--max-msg-size", "4MiB")


def test_max_msg_size_with_a_unit_is_used(grpc_server: GrpcServer) -> None:
    big = "x" * 2000
    ok = run_cli(
        "call", grpc_server.target, "Echo", *G, "--max-msg-size", "16KiB", "-d", f'{{"message": "{big}"}}'
    )
    assert ok.exit_code == 0, ok.stderr
    assert ok.json["message"] == big


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1048576", 1048576),
        ("512KiB", 512 * 1024),
        ("4MiB", 4 * 1024**2),
        ("4M", 4 * 1024**2),
        ("1GB", 10**9),
        ("2kB", 2000),
        ("1.5KiB", 1536),
        (" 4 MiB ", 4 * 1024**2),
        (str(MAX_MESSAGE_BYTES), MAX_MESSAGE_BYTES),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text, "--max-msg-size") == expected


@pytest.mark.parametrize("text", ["", "MiB", "-1", "4XB", "1e3", "4GiB"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(UsageError, match="--max-msg-size"):
        parse_size(text, "--max-msg-size")


def test_huge_durations_encode_as_the_largest_header_value() -> None:
    assert encode_grpc_timeout(1e300) == "99999999H"
    assert encode_grpc_timeout(float("inf")) == "99999999H"
    assert encode_grpc_timeout(99999999 * 3600.0) == "99999999H"
    assert encode_connect_timeout(float("inf")) is None


def test_parse_duration_names_the_option() -> None:
    with pytest.raises(UsageError, match=r"^--timeout: invalid duration"):
        parse_duration("5 parsecs", "--timeout")
    with pytest.raises(UsageError, match="too long"):
        parse_duration("1" + "0" * 400)


@pytest.mark.parametrize(
    "argv,words",
    [
        (("bench", "127.0.0.1:1", "Echo", "-c", "99999999999"), ("--concurrency", "from 1 to 100000")),
        (("bench", "127.0.0.1:1", "Echo", "--rps", "nan"), ("--rps", "not a finite number")),
        (("bench", "127.0.0.1:1", "Echo", "--rps", "1e400"), ("--rps", "from 0 to 1000000")),
        (("bench", "127.0.0.1:1", "Echo", "--max-error-rate", "2"), ("--max-error-rate", "from 0 to 1")),
        (("bench", "127.0.0.1:1", "Echo", "--workers", "0"), ("--workers", "from 1 to 256")),
        (("bench", "127.0.0.1:1", "Echo", "--load-start", "-1"), ("--load-start", "from 0")),
        (("bench", "127.0.0.1:1", "Echo", "-n", "lots"), ("--total", "'lots' is not a whole number")),
        (("bench", "127.0.0.1:1", "Echo", "--max-msg-size", "99999999999"), ("--max-msg-size", "4294967295")),
        (
            ("replay", "capture.jsonl", "-t", "127.0.0.1:1", "--runners", "99999999999"),
            ("--runners", "10000"),
        ),
        (("serve", "--listen", "127.0.0.1:0", "--header-timeout", "nan"), ("--header-timeout", "finite")),
        (("serve", "--listen", "127.0.0.1:0", "--max-connections", "0"), ("--max-connections", "from 1")),
        (("demo", "--runners", "0"), ("--runners", "from 1 to 50")),
    ],
)
def test_every_commands_numbers_are_checked_before_anything_runs(
    argv: tuple[str, ...], words: tuple[str, ...]
) -> None:
    result = run_cli(*argv)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    first, *usage = result.stderr.splitlines()
    assert first.startswith("error: ")
    assert len(usage) <= 1  # the usage line follows errors click finds, not ours
    assert all(line.startswith(f"Usage: rpcctl {argv[0]} ") for line in usage)
    for word in words:
        assert word in first


@pytest.mark.parametrize("command", [("list", "127.0.0.1:1"), ("describe", "127.0.0.1:1", "Foo")])
def test_bad_timeout_of_list_and_describe_is_one_line_and_nothing_else(command: tuple[str, ...]) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "rpcctl", *command, "--timeout", "5x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: --timeout: invalid duration '5x': use a number of seconds or units h, m, s, ms, us, ns "
        "(e.g. 1m30s, 250ms)"
    ]
