"""One answer, one verdict: every scripted answer of the verdict table through every command.

Each row of `tests.support.verdicts` (what a server answers to a unary call, and the code and
message a client must report) is sent by a scripted h2c server and read by `rpcctl call`,
`rpcctl bench -n 1`, `rpcctl call` through the recording proxy, and `rpcctl replay` of a
runner's capture (its first call, Register, gets the row's answer). Each path must report the
row's expected code and message: the expected value, not agreement between paths.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from rpcctl.wire.status import Code
from tests.bench.raw_h2 import ScriptedH2
from tests.proxy.serving import RunningProxy, running_proxy
from tests.runner.replay_support import Recording, record, task_shape
from tests.support.cli import CliResult, run_cli
from tests.support.schema import TEST_PROTO, TEST_PROTO_ROOT, compile_runner_schema, compile_test_schema
from tests.support.verdicts import (
    BROKEN_CONNECTION_VERDICTS,
    CONNECT_UNARY_VERDICTS,
    GRPC_VERDICTS,
    GRPC_WEB_VERDICTS,
    MAX_MESSAGE_SIZE,
    Verdict,
)
from tests.verdicts.scripted import answer_for, threaded_scripted

ECHO = "rpcctl.test.v1.TestService/Echo"
REQUEST = ("-d", '{"message":"hi"}')
SCHEMA = ("--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_ROOT))
# A scripted answer is immediate: this only bounds a path that would hang.
BOUND = ("--timeout", "3s", "--max-msg-size", str(MAX_MESSAGE_SIZE))
# The options that reach the scripted (h2c only) server with each protocol; proto everywhere.
PROTOCOL_OPTIONS = {
    "grpc": ("--protocol", "grpc"),
    "grpc-web": ("--protocol", "grpc-web", "--http2"),
    "connect": ("--protocol", "connect", "--codec", "proto", "--http2"),
}
ERROR_LINE = re.compile(r"^error: (?P<code>[A-Z_]+) \(\d+\): (?P<message>.*)$", re.MULTILINE)
REPLAY_LINE = re.compile(
    r"^replay: Register (?:OK|failed: (?P<code>[A-Z_]+)(?:: (?P<message>.*))? [\d.]+ms)$", re.MULTILINE
)

TABLES = {
    "grpc": GRPC_VERDICTS + BROKEN_CONNECTION_VERDICTS,
    "grpc-web": GRPC_WEB_VERDICTS + BROKEN_CONNECTION_VERDICTS,
    "connect": CONNECT_UNARY_VERDICTS + BROKEN_CONNECTION_VERDICTS,
}
# Known faults of one path, by (protocol, row name): strict, so a fix shows up as XPASS.
PROXY_FAULTS: dict[tuple[str, str], str] = {}


def rows(faults: dict[tuple[str, str], str] | None = None) -> list[Any]:
    """Every (protocol, row) pair, the known faults of a path marked strict xfail."""
    faults = faults or {}
    params = []
    for protocol, table in TABLES.items():
        for row in table:
            reason = faults.get((protocol, row.name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(protocol, row, id=f"{protocol}-{row.name}", marks=marks))
    return params


ROWS = rows()


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedH2]:
    """One scripted server for the module; each test sets its answer."""
    with threaded_scripted() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(scripted: ScriptedH2, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    """The recording proxy in front of the scripted server."""
    capture = tmp_path_factory.mktemp("proxy") / "capture.jsonl"
    with running_proxy(f"http://127.0.0.1:{scripted.port}", compile_test_schema(), capture) as running:
        yield running


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """A runner's session recorded through the proxy from a stand-in (Register first)."""
    path = tmp_path_factory.mktemp("replay") / "capture.jsonl"
    return asyncio.run(record(compile_runner_schema(), path, [task_shape()]))


def url(server: ScriptedH2) -> str:
    return f"http://127.0.0.1:{server.port}"


def check_call(result: CliResult, row: Verdict) -> None:
    """`rpcctl call`'s verdict: exit 0 and the message, or 64 + code and one error line."""
    if row.expected_code is Code.OK:
        assert (result.exit_code, result.stderr) == (0, ""), result.stderr
        assert json.loads(result.stdout) == {"message": "hi"}
        return
    found = ERROR_LINE.search(result.stderr)
    assert found is not None, result.stderr
    assert (found["code"], result.exit_code) == (row.expected_code.name, 64 + row.expected_code.value)
    assert row.expected_message in found["message"]
    assert len(result.stderr.splitlines()) == 1, result.stderr


@pytest.mark.parametrize(("protocol", "row"), ROWS)
def test_call(protocol: str, row: Verdict, scripted: ScriptedH2) -> None:
    scripted.answer = answer_for(row)
    result = run_cli("call", url(scripted), ECHO, *SCHEMA, *PROTOCOL_OPTIONS[protocol], *REQUEST, *BOUND)
    check_call(result, row)


@pytest.mark.parametrize(("protocol", "row"), ROWS)
def test_bench(protocol: str, row: Verdict, scripted: ScriptedH2) -> None:
    scripted.answer = answer_for(row)
    result = run_cli(
        "bench", url(scripted), ECHO, *SCHEMA, *PROTOCOL_OPTIONS[protocol], *REQUEST, *BOUND,
        "-n", "1", "--workers", "1", "-O", "json", "--max-error-rate", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    stats: dict[str, Any] = json.loads(result.stdout)["runs"][0]["stats"]
    assert stats["codes"] == {row.expected_code.name: 1}
    if row.expected_code is not Code.OK:
        [message] = stats["messages"]  # "CODE: message", or "CODE" alone
        code, _, text = message.partition(": ")
        assert code == row.expected_code.name
        assert row.expected_message in text


@pytest.mark.parametrize(("protocol", "row"), rows(PROXY_FAULTS))
def test_through_the_proxy(protocol: str, row: Verdict, scripted: ScriptedH2, proxy: RunningProxy) -> None:
    scripted.answer = answer_for(row)
    result = run_cli("call", proxy.url, ECHO, *SCHEMA, *PROTOCOL_OPTIONS[protocol], *REQUEST, *BOUND)
    check_call(result, row)


@pytest.mark.parametrize(("protocol", "row"), ROWS)
def test_replay(protocol: str, row: Verdict, scripted: ScriptedH2, recording: Recording) -> None:
    if row.expected_code is Code.OK:
        pytest.skip("an OK Register answer lets the session go on polling FetchTask: not a verdict")
    scripted.answer = answer_for(row)
    result = run_cli(
        "replay", str(recording.path), "--target", url(scripted), "--speed", "max", "-v", "--json",
        *PROTOCOL_OPTIONS[protocol], *BOUND,
    )  # fmt: skip
    found = REPLAY_LINE.search(result.stderr)
    assert found is not None, result.stderr
    assert found["code"] == row.expected_code.name, result.stderr
    assert row.expected_message in (found["message"] or "")
    summary = json.loads(result.stdout)
    assert (result.exit_code, summary["ok"]) == (1, False)
    assert summary["last_error"].startswith(f"Register: {row.expected_code.name}")
