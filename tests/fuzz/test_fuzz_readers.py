"""Properties of the readers of user files: capture files and JSON request bodies.

Any bytes after a valid capture header give events or `UsageError` ("PATH line N: ..."),
never another exception; any text given to `-d` gives messages or `UsageError`.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from rpcctl.errors import UsageError
from rpcctl.proxy.capture import iter_events, read_capture
from rpcctl.schema.jsoncodec import JsonValueStream, message_from_json, parse_json_values
from tests.support.schema import compile_test_schema

HEADER = b'{"format": "rpcctl-capture", "version": 1}\n'
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=20,
)
FIELDS = [
    "t",
    "call",
    "event",
    "method",
    "headers",
    "trailers",
    "raw",
    "message",
    "code",
    "details",
    "duration",
    "peer",
    "schema",
    "redacted",
    "version",
    "format",
]
EVENT_LINE = st.dictionaries(
    st.sampled_from(FIELDS), st.one_of(JSON_VALUES, st.sampled_from(["start", "request", "response", "end"]))
).map(lambda obj: json.dumps(obj).encode() + b"\n")
LINES = st.lists(st.one_of(EVENT_LINE, st.binary(max_size=60)), max_size=6)
SCHEMA = compile_test_schema()
ECHO = SCHEMA.message_class(SCHEMA.pool.FindMessageTypeByName("rpcctl.test.v1.EchoRequest"))


def _read(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.jsonl"
        path.write_bytes(data)
        try:
            read_capture(path)
            events = list(iter_events(path))
        except UsageError as exc:
            assert str(exc)
            return
        bad: list[str] = []
        assert len(list(iter_events(path, skip_bad_lines=True, bad_lines=bad))) == len(events)
        assert bad == []


@given(LINES)
def test_capture_reader_on_any_lines(lines: list[bytes]) -> None:
    _read(HEADER + b"".join(lines))


@given(EVENT_LINE)
def test_capture_header_of_any_shape(line: bytes) -> None:
    _read(line)


@given(
    st.text(alphabet='[]{}",:0123456789.-eE tnrufl\\\n', max_size=300),
    st.lists(st.integers(0, 300), max_size=5),
)
def test_json_request_reader_on_any_text(text: str, cuts: list[int]) -> None:
    try:
        values = parse_json_values(text)
    except UsageError:
        return
    stream = JsonValueStream()
    points = sorted({c % (len(text) + 1) for c in cuts})
    got, last = [], 0
    for point in [*points, len(text)]:
        got += stream.feed(text[last:point])
        last = point
    got += stream.finish()
    assert got == values


@given(JSON_VALUES)
def test_messages_from_any_json_value(value: object) -> None:
    with contextlib.suppress(UsageError):
        message_from_json(value, ECHO, SCHEMA.pool)
