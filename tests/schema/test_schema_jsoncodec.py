"""JSON value streams and JSON ⇄ message conversion."""

from __future__ import annotations

from typing import Any

import pytest

from rpcctl.errors import RpcError, UsageError
from rpcctl.schema.jsoncodec import (
    JsonValueStream,
    decode_message,
    message_from_json,
    message_to_json,
    message_to_text,
    parse_json_values,
)
from rpcctl.schema.registry import Schema
from rpcctl.wire.status import Code

TEXT = '{"a": [1, 2, {"b": "}]\\""}]}\n"str{" 12 -3.5e2\ntrue null[{}]{"x":\n1}  7'
EXPECTED = [{"a": [1, 2, {"b": '}]"'}]}, "str{", 12, -350.0, True, None, [{}], {"x": 1}, 7]


def test_parse_json_values() -> None:
    assert parse_json_values(TEXT) == EXPECTED
    assert parse_json_values("  \n ") == []


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_stream_fed_in_chunks(size: int) -> None:
    stream = JsonValueStream()
    values: list[Any] = []
    for i in range(0, len(TEXT), size):
        values.extend(stream.feed(TEXT[i : i + size]))
    values.extend(stream.finish())
    assert values == EXPECTED


def test_values_are_returned_as_soon_as_complete() -> None:
    stream = JsonValueStream()
    assert stream.feed('{"message": "one"}\n{"mess') == [{"message": "one"}]
    assert stream.feed('age": "two"}') == [{"message": "two"}]
    # A number may continue in the next chunk: it is only complete at a delimiter or the end.
    assert stream.feed("12") == []
    assert stream.feed("3 ") == [123]
    assert stream.feed("4") == []
    assert stream.finish() == [4]


@pytest.mark.parametrize(
    ("chunks", "where", "reason"),
    [
        (['{"a": 1}\n{"b": ', "x}"], "line 2, column 7", "Expecting value"),
        (["[1, 2]\n\n  ]"], "line 3, column 3", "Expecting value"),
        (['{"a": 1', "\n"], "line 2, column 1", "Expecting ',' delimiter"),
        (['"abc'], "line 1, column 1", "Unterminated string"),
        (["1\n tru"], "line 2, column 2", "Expecting value"),
        (['{"a":1} {"a" 2}'], "line 1, column 14", "Expecting ':' delimiter"),
    ],
)
def test_errors_carry_line_and_column(chunks: list[str], where: str, reason: str) -> None:
    stream = JsonValueStream()
    with pytest.raises(UsageError) as info:
        for chunk in chunks:
            stream.feed(chunk)
        stream.finish()
    assert str(info.value).startswith(f"invalid JSON at {where}: {reason}")


@pytest.mark.parametrize("size", [None, 1, 5, 4096])
def test_error_position_after_many_values(size: int | None) -> None:
    """The stream consumes values by index, not by slicing (which was quadratic: 100,000
    padded values took 27 s); the line and column of an error after them must still count
    every character before it, whether the text came whole or in chunks."""
    values = 2000
    text = "".join(f'{{"n": {i}}}  \n ' if i % 3 else f'  "s{i}" ' for i in range(values)) + '\n  {"n" 1}'
    line = text.count("\n") + 1
    column = text.rsplit("\n", 1)[1].index("1") + 1  # the 1 where ':' was expected
    stream = JsonValueStream()
    with pytest.raises(UsageError) as info:
        chunks = [text] if size is None else [text[i : i + size] for i in range(0, len(text), size)]
        for chunk in chunks:
            stream.feed(chunk)
        stream.finish()
    assert parse_json_values(text.rsplit("\n", 1)[0]) == [
        {"n": i} if i % 3 else f"s{i}" for i in range(values)
    ]
    assert str(info.value).startswith(f"invalid JSON at line {line}, column {column}: Expecting ':'")


def test_message_from_json(schema: Schema) -> None:
    cls = schema.message_class(schema.find_symbol("EchoRequest"))  # type: ignore[arg-type]
    msg = message_from_json(
        {
            "message": "hi",
            "delay_ms": 5,
            "kitchen": {
                "big": "9007199254740993",
                "counts": {"a": 1},
                "any": {"@type": "type.googleapis.com/rpcctl.test.v1.Inner", "name": "n"},
            },
        },
        cls,
        schema.pool,
    )
    assert msg.delay_ms == 5  # type: ignore[attr-defined]
    assert msg.kitchen.big == 9007199254740993  # type: ignore[attr-defined]
    out = message_to_json(msg, pool=schema.pool)
    assert out["delayMs"] == 5
    assert out["kitchen"]["big"] == "9007199254740993"
    assert out["kitchen"]["any"] == {"@type": "type.googleapis.com/rpcctl.test.v1.Inner", "name": "n"}
    assert "flag" not in out["kitchen"]
    with_defaults = message_to_json(msg, emit_defaults=True, pool=schema.pool)
    assert with_defaults["kitchen"]["flag"] is False
    assert with_defaults["kitchen"]["tags"] == []
    assert 'message: "hi"' in message_to_text(msg)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"x": 1}, "unknown field 'x' in rpcctl.test.v1.EchoRequest"),
        (
            {"kitchen": {"bogus": 1}},
            "unknown field 'bogus' in rpcctl.test.v1.Kitchen (at kitchen)",
        ),
        (
            {"delayMs": "abc"},
            'invalid value "abc" for field delayMs of rpcctl.test.v1.EchoRequest: ',
        ),
        (
            {"kitchen": {"color": "PURPLE"}},
            'invalid value "PURPLE" for field kitchen.color of rpcctl.test.v1.EchoRequest: '
            "Invalid enum value PURPLE for enum type rpcctl.test.v1.Color",
        ),
        (
            {"kitchen": {"any": {"@type": "type.googleapis.com/nope.Nope"}}},
            "unknown type 'type.googleapis.com/nope.Nope' in an Any (at kitchen.any): no schema describes it",
        ),
        ([1, 2], "invalid "),
        ({"y" * 5000: 1}, f"unknown field '{'y' * 199}…' in rpcctl.test.v1.EchoRequest"),
        (
            {"kitchen": {"blob": "!!"}},
            'invalid value "!!" for field kitchen.blob of rpcctl.test.v1.EchoRequest: '
            "expected a base64 string (standard or URL-safe)",
        ),
        ({"kitchen": {"blob": "aGVsbG8!"}}, 'invalid value "aGVsbG8!" for field kitchen.blob'),
        ({"kitchen": {"blob": "aGVsb"}}, 'invalid value "aGVsb" for field kitchen.blob'),
        (
            {"kitchen": {"any": {"@type": "type.googleapis.com/google.protobuf.BytesValue", "value": "a b"}}},
            'invalid value "a b" for field kitchen.any.value of rpcctl.test.v1.EchoRequest',
        ),
        (
            {"kitchen": {"any": {"@type": "type.googleapis.com/rpcctl.test.v1.Kitchen", "blob": "%%"}}},
            'invalid value "%%" for field kitchen.any.blob of rpcctl.test.v1.EchoRequest',
        ),
        (
            {"kitchen": {"any": {"name": "x"}}},
            'invalid value {"name": "x"} for field kitchen.any of rpcctl.test.v1.EchoRequest: '
            'an Any needs "@type", the URL of its type (type.googleapis.com/pkg.Message)',
        ),
        ({"mesage": "x"}, "unknown field 'mesage' in rpcctl.test.v1.EchoRequest; did you mean 'message'?"),
        ({"delay_m": 1}, "unknown field 'delay_m' in rpcctl.test.v1.EchoRequest; did you mean 'delayMs'?"),
        ({"kitchen": {"colour": 1}}, "in rpcctl.test.v1.Kitchen (at kitchen); did you mean 'color'?"),
    ],
)
def test_message_from_json_errors(schema: Schema, value: Any, expected: str) -> None:
    cls = schema.message_class(schema.find_symbol("EchoRequest"))  # type: ignore[arg-type]
    with pytest.raises(UsageError) as info:
        message_from_json(value, cls, schema.pool)
    assert expected in str(info.value)


def test_decode_message(schema: Schema) -> None:
    cls = schema.message_class(schema.find_symbol("EchoResponse"))  # type: ignore[arg-type]
    assert decode_message(cls(message="x").SerializeToString(), cls).message == "x"  # type: ignore[attr-defined]
    with pytest.raises(RpcError) as info:
        decode_message(b"\xff\xff\xff", cls)
    assert info.value.code is Code.INTERNAL
    assert info.value.message.startswith("cannot decode response as rpcctl.test.v1.EchoResponse: ")


@pytest.mark.parametrize(
    ("text", "data"),
    [("aGk=", b"hi"), ("aGk", b"hi"), ("-_8=", b"\xfb\xff"), ("+/8", b"\xfb\xff"), ("", b"")],
)
def test_bytes_accept_standard_and_url_safe_base64_with_or_without_padding(
    schema: Schema, text: str, data: bytes
) -> None:
    cls = schema.message_class(schema.find_symbol("EchoRequest"))  # type: ignore[arg-type]
    msg = message_from_json({"kitchen": {"blob": text}}, cls, schema.pool)
    assert msg.kitchen.blob == data  # type: ignore[attr-defined]
