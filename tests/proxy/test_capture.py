"""The capture file: writer and reader round trip, redaction, truncation, bad files, streaming."""

from __future__ import annotations

import base64
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from rpcctl.call_events import CallEvent, EventKind
from rpcctl.errors import UsageError
from rpcctl.proxy.capture import CaptureWriter, iter_events, read_capture
from rpcctl.proxy.redact import REDACTED, Redactor, is_credential_field, is_credential_header
from rpcctl.wire.error_detail import ErrorDetail
from rpcctl.wire.metadata import Metadata
from tests.support.schema import compile_runner_schema, compile_test_schema

METHOD = "/rpcctl.test.v1.TestService/Echo"
HEADERS = Metadata(
    [
        ("authorization", "Bearer s3cr3t"),
        ("x-user", "alice"),
        ("cookie", "sid=1"),
        ("x-auth-token", "abc"),
        ("x-session-bin", b"\x00\x01secret"),
        ("x-trace-bin", b"\x01\x02"),
    ]
)


def _call(call_id: str = "c1", *, start: float = 0.0) -> list[CallEvent]:
    return [
        CallEvent(
            EventKind.START,
            call_id,
            METHOD,
            time=start + 1.0,
            info={
                "method": METHOD,
                "protocol": "grpc",
                "codec": "proto",
                "headers": HEADERS,
                "peer": "127.0.0.1:1",
            },
        ),
        CallEvent(EventKind.REQUEST, call_id, METHOD, time=start + 1.5, message={"message": "hi"}),
        CallEvent(EventKind.RESPONSE, call_id, METHOD, time=start + 2.0, raw=b"\x0a\x02hi\xff"),
        CallEvent(
            EventKind.END,
            call_id,
            METHOD,
            time=start + 2.5,
            info={
                "code": 3,
                "message": "bad",
                "details": [ErrorDetail("type.googleapis.com/google.rpc.ErrorInfo", b"\x0a\x01x")],
                "trailers": [("x-echo-trailer", "done"), ("set-cookie", "a=b")],
                "duration": 1.5,
            },
        ),
    ]


def _write(path: Path, events: list[CallEvent], *, redact: bool = True, schema: Any = None) -> None:
    with CaptureWriter(path, schema, redact=redact) as writer:
        writer._start = 0.0  # timestamps of the fake events are relative to 0
        writer.write_many(events)


def test_round_trip_with_schema(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    schema = compile_test_schema()
    _write(path, _call(), schema=schema)
    capture = read_capture(path)
    assert capture.header["format"] == "rpcctl-capture"
    assert capture.version == 1
    assert capture.header["created"].endswith("Z")
    assert capture.redacted
    assert capture.schema is not None
    assert capture.schema.find_method("TestService/Echo").name == "Echo"
    events = list(capture.events())
    assert [e.kind for e in events] == [EventKind.START, EventKind.REQUEST, EventKind.RESPONSE, EventKind.END]
    start, request, response, end = events
    assert start.call_id == "c1" and start.method == METHOD and start.time == 1.0
    assert start.info["protocol"] == "grpc" and start.info["codec"] == "proto"
    assert start.info["peer"] == "127.0.0.1:1"
    assert request.message == {"message": "hi"} and request.raw is None
    assert response.raw == b"\x0a\x02hi\xff" and response.message is None
    assert end.info["code"] == 3 and end.info["status"] == "INVALID_ARGUMENT"
    assert end.info["message"] == "bad" and end.info["duration"] == 1.5
    assert end.info["details"] == [{"type": "google.rpc.ErrorInfo", "value": "CgF4"}]


def test_redaction_on(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    _write(path, _call())
    start = next(iter_events(path))
    headers = dict(start.info["headers"])
    assert headers["authorization"] == REDACTED
    assert headers["cookie"] == REDACTED
    assert headers["x-auth-token"] == REDACTED
    assert headers["x-session-bin"] == REDACTED
    assert headers["x-user"] == "alice"
    assert headers["x-trace-bin"] == "AQI"  # not a credential: unpadded base64
    end = list(iter_events(path))[-1]
    assert dict(end.info["trailers"]) == {"x-echo-trailer": "done", "set-cookie": REDACTED}
    text = path.read_text()
    assert "s3cr3t" not in text and "sid=1" not in text


def test_redaction_off(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    _write(path, _call(), redact=False)
    assert not read_capture(path).redacted
    headers = dict(next(iter_events(path)).info["headers"])
    assert headers["authorization"] == "Bearer s3cr3t"
    assert base64.b64decode(headers["x-session-bin"] + "==") == b"\x00\x01secret"


def test_runner_tokens_in_messages(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    method = "/pkg.proto.runner.v1.RunnerService/Register"
    events = [
        CallEvent(EventKind.REQUEST, "r", method, message={"name": "w1", "token": "reg-secret"}),
        CallEvent(
            EventKind.RESPONSE, "r", method, message={"runner": {"uuid": "u1", "token": "runner-secret"}}
        ),
        CallEvent(EventKind.REQUEST, "f", method, message={"token": "runner-secret", "labels": ["linux"]}),
        CallEvent(EventKind.REQUEST, "g", method, message={"token": ""}),
    ]
    _write(path, events, schema=compile_runner_schema())
    text = path.read_text()
    assert "reg-secret" not in text and "runner-secret" not in text
    got = [e.message for e in iter_events(path)]
    runner_token = got[1]["runner"]["token"]
    assert runner_token.startswith("[REDACTED:") and got[1]["runner"]["uuid"] == "u1"
    # The same secret maps to the same placeholder, a different one to another.
    assert got[2]["token"] == runner_token != got[0]["token"]
    assert got[2]["labels"] == ["linux"]
    assert got[3]["token"] == ""
    _write(path, events, redact=False)
    assert [e.message for e in iter_events(path)][1]["runner"]["token"] == "runner-secret"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("authorization", True),
        ("Proxy-Authorization", True),
        ("x-api-key", True),
        ("x-refresh-token", True),
        ("x-client-secret", True),
        ("db-password", True),
        ("my-api-key-header", True),
        ("grpc-trace-bin", False),
        ("x-credentials-bin", True),
        ("x-request-id", False),
        ("user-agent", False),
    ],
)
def test_credential_headers(name: str, secret: bool) -> None:
    assert is_credential_header(name) is secret


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("token", True),
        ("accessToken", True),
        ("client_secret", True),
        ("apiKey", True),
        ("tokens", False),
        ("uuid", False),
    ],
)
def test_credential_fields(name: str, secret: bool) -> None:
    assert is_credential_field(name) is secret


def test_placeholders_differ_between_captures() -> None:
    assert Redactor().placeholder("x") != Redactor().placeholder("x")


def test_truncated_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    _write(path, _call("a") + _call("b", start=10))
    data = path.read_bytes()
    path.write_bytes(data[: -len(data.splitlines(keepends=True)[-1]) // 2 - 1])
    events = list(iter_events(path))
    assert len(events) == 7
    assert events[-1].kind is EventKind.RESPONSE and events[-1].call_id == "b"


def test_garbage_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    _write(path, _call())
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines[:2], b"{oops\n", *lines[2:]]))
    with pytest.raises(UsageError, match="line 3 is not valid JSON"):
        list(iter_events(path))


def test_unknown_events_and_fields_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    _write(path, _call())
    with path.open("a") as handle:
        handle.write(json.dumps({"t": 9, "call": "c1", "event": "future-thing"}) + "\n")
    assert len(list(iter_events(path))) == 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"hello world\n", "line 1 is not a capture header"),
        (b'{"t": 0, "call": "x", "event": "start"}\n', "line 1 is not a capture header"),
        (b'{"format": "rpcctl-capture", "version": 2}\n', "version 2 capture"),
        (b'{"format": "rpcctl-capt', "line 1 is not a capture header"),
    ],
)
def test_not_a_capture(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        read_capture(path)
    with pytest.raises(UsageError, match=message):
        list(iter_events(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read capture"):
        read_capture(tmp_path / "nope.jsonl")


def test_bad_schema_in_header(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"format": "rpcctl-capture", "version": 1, "schema": "!!"}\n')
    with pytest.raises(UsageError, match="embedded schema"):
        _ = read_capture(path).schema


def test_write_after_close_fails(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path / "c.jsonl")
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(_call()[1])


def test_unwritable_path(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write capture"):
        CaptureWriter(tmp_path / "missing" / "c.jsonl")


def test_100k_events_stream_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    count = 100_000
    with CaptureWriter(path) as writer:
        for i in range(count):
            writer.write(
                CallEvent(EventKind.REQUEST, f"c{i % 50}", METHOD, message={"message": "x" * 40, "seq": i})
            )
    tracemalloc.start()
    try:
        seen = 0
        last = -1
        for event in iter_events(path):
            assert event.message["seq"] == last + 1
            last = event.message["seq"]
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    # The file is ~10 MB; streaming keeps the peak far below it.
    assert path.stat().st_size > 8_000_000
    assert peak < 2_000_000


def _with_line(tmp_path: Path, line: bytes, at: int = 2) -> Path:
    path = tmp_path / "c.jsonl"
    _write(path, _call())
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines[:at], line, *lines[at:]]))
    return path


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ({"t": 1, "call": "c", "event": "response", "raw": 123}, "raw is not a string"),
        ({"t": 1, "call": "c", "event": "start", "headers": 5}, "headers is not a list"),
        ({"t": 1, "call": "c", "event": "start", "headers": [["a"]]}, "headers is not a list"),
        ({"t": 1, "call": "c", "event": "end", "trailers": [[1, 2]]}, "trailers is not a list"),
        ({"t": "soon", "call": "c", "event": "start"}, "t is not a number"),
        ({"t": 1, "call": ["c"], "event": "start"}, "call is not a string"),
        ({"t": 1, "call": "c", "event": "end", "code": "3"}, "code is not an integer"),
        ({"t": 1, "call": "c", "event": "end", "code": True}, "code is not an integer"),
        ({"t": 1, "call": "c", "event": "end", "message": {"a": 1}}, "message is not a string"),
        ({"t": 1, "call": "c", "event": "end", "duration": "1s"}, "duration is not a number"),
        ({"t": 1, "call": "c", "event": "start", "peer": 5}, "peer is not a string"),
        ({"t": 1, "call": "c", "event": "end", "details": {}}, "details is not a list"),
    ],
)
def test_wrong_field_types_name_the_line(tmp_path: Path, line: dict[str, Any], problem: str) -> None:
    path = _with_line(tmp_path, json.dumps(line).encode() + b"\n")
    with pytest.raises(UsageError, match=f"line 3: {problem}"):
        list(iter_events(path))
    bad: list[str] = []
    assert len(list(iter_events(path, skip_bad_lines=True, bad_lines=bad))) == 4
    assert len(bad) == 1 and problem in bad[0]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ({"schema": True}, "schema is not a base64 string"),
        ({"schema": 5}, "schema is not a base64 string"),
        ({"redacted": "yes"}, "redacted is not true or false"),
    ],
)
def test_wrong_header_types(tmp_path: Path, header: dict[str, Any], problem: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"format": "rpcctl-capture", "version": 1, **header}) + "\n")
    with pytest.raises(UsageError, match=f"line 1: {problem}"):
        read_capture(path)


def test_version_of_a_wrong_type_is_named_shortly(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"format": "rpcctl-capture", "version": "9" * 10_000}) + "\n")
    with pytest.raises(UsageError, match="is a version") as info:
        read_capture(path)
    assert len(str(info.value)) < 200


def test_a_line_cut_in_the_middle_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    _write(path, _call("a") + _call("b", start=10))
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3][: len(lines[3]) // 2] + b"\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(UsageError, match="line 4 is not valid JSON"):
        list(iter_events(path))
    bad: list[str] = []
    events = list(iter_events(path, skip_bad_lines=True, bad_lines=bad))
    assert [e.call_id for e in events] == ["a", "a", "a", "b", "b", "b", "b"]
    assert len(bad) == 1 and "line 4 is not valid JSON" in bad[0]


@pytest.mark.parametrize(
    "line",
    [b"[" * 100_000 + b"\n", b'{"t": 1, "call": "c", "event": "start", "n": ' + b"7" * 5000 + b"}\n"],
)
def test_deep_and_long_number_lines_are_not_valid_json(tmp_path: Path, line: bytes) -> None:
    path = _with_line(tmp_path, line)
    with pytest.raises(UsageError, match="line 3 is not valid JSON"):
        list(iter_events(path))


def test_capture_files_are_private(tmp_path: Path) -> None:
    for redact in (True, False):
        path = tmp_path / f"c{redact}.jsonl"
        path.write_text("old")
        path.chmod(0o644)
        _write(path, _call(), redact=redact)
        assert path.stat().st_mode & 0o777 == 0o600
        fresh = tmp_path / f"fresh{redact}.jsonl"
        _write(fresh, _call(), redact=redact)
        assert fresh.stat().st_mode & 0o777 == 0o600


def test_a_saved_copy_is_private_too(tmp_path: Path) -> None:
    from rpcctl.proxy.capture import copy_capture

    source = tmp_path / "c.jsonl"
    _write(source, _call(), redact=False)
    target = tmp_path / "saved.jsonl"
    copy_capture(source, target)
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.read_bytes() == source.read_bytes()
