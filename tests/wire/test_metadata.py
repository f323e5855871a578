"""Metadata: the multi-map, -bin encoding, validation and terminal sanitizing."""

from __future__ import annotations

import pytest

from rpcctl.errors import ProtocolError, UsageError
from rpcctl.wire.metadata import (
    HOP_BY_HOP,
    PROTOCOL_HEADERS,
    Metadata,
    check_name,
    check_value,
    decode_binary_value,
    encode_binary_value,
    parse_header_option,
    sanitize_for_terminal,
)
from rpcctl.wire.status import Code


def test_multimap_order_and_case() -> None:
    md = Metadata.from_pairs([("X-Custom-Header", "foo"), ("a", "1"), ("x-custom-header", "bar")])
    md.add("X-CUSTOM-HEADER", "baz")
    assert md.get_all("x-custom-header") == ["foo", "bar", "baz"]
    assert md.get("X-Custom-Header") == "foo"
    assert md.get("missing") is None and md.get("missing", "d") == "d"
    assert "A" in md and "b" not in md and 3 not in md
    assert len(md) == 4
    assert md.keys() == ["x-custom-header", "a"]
    assert list(md) == md.items()
    assert md.items()[1] == ("a", "1")


def test_copy_and_equality() -> None:
    md = Metadata([("a", "1")])
    other = md.copy()
    other.add("b", "2")
    assert len(md) == 1 and md != other
    assert md == Metadata([("A", "1")])


def test_bytes_need_bin_key() -> None:
    with pytest.raises(TypeError):
        Metadata().add("x", b"raw")
    Metadata().add("x-bin", b"raw")


def test_without_names_and_prefixes() -> None:
    md = Metadata(
        [
            ("content-type", "application/grpc"),
            ("grpc-status", "0"),
            ("trailer-grpc-status", "0"),
            ("x-keep", "1"),
            ("connection", "close"),
        ]
    )
    kept = md.without(PROTOCOL_HEADERS | HOP_BY_HOP)
    assert kept.items() == [("x-keep", "1")]
    assert md.without(["grpc-", "Content-Type"]).keys() == [
        "trailer-grpc-status",
        "x-keep",
        "connection",
    ]


def test_protocol_headers_list() -> None:
    assert "grpc-status-details-bin" in PROTOCOL_HEADERS
    assert "connect-timeout-ms" in PROTOCOL_HEADERS
    assert all(name == name.lower() for name in PROTOCOL_HEADERS)
    assert "te" in HOP_BY_HOP


def test_bin_wire_encoding_unpadded() -> None:
    md = Metadata([("x-bin", b"\x00\x01\x02\x03"), ("x", "text")])
    assert md.to_wire_pairs() == [("x-bin", "AAECAw"), ("x", "text")]
    assert encode_binary_value(b"") == ""


@pytest.mark.parametrize(
    "wire,expected",
    [
        ("AAECAw", [b"\x00\x01\x02\x03"]),
        ("AAECAw==", [b"\x00\x01\x02\x03"]),
        ("AAECAw==,AQ", [b"\x00\x01\x02\x03", b"\x01"]),
        ("AAECAw, AQ==", [b"\x00\x01\x02\x03", b"\x01"]),
        ("+/+/", [b"\xfb\xff\xbf"]),
    ],
)
def test_bin_wire_decoding(wire: str, expected: list[bytes]) -> None:
    md = Metadata.from_wire_pairs([("X-Bin", wire)])
    assert md.get_all("x-bin") == expected


@pytest.mark.parametrize("wire", ["-_-_", "AAE*Aw", "A", "AA=A", "not base64!"])
def test_invalid_bin_kept_as_raw_text(wire: str) -> None:
    md = Metadata.from_wire_pairs([("x-bin", wire)])
    assert md.get_all("x-bin") == [wire]
    # Sent back verbatim, so a proxy forwards it unchanged.
    assert md.to_wire_pairs(strict=False) == [("x-bin", wire)]


def test_decode_binary_value_strict() -> None:
    assert decode_binary_value("AQ") == b"\x01"
    with pytest.raises(ValueError):
        decode_binary_value("AQ==AQ==")
    with pytest.raises(ValueError):
        decode_binary_value("A-")


def test_from_wire_pairs_strips_whitespace() -> None:
    md = Metadata.from_wire_pairs([(" X-A ", "  v \t")])
    assert md.items() == [("x-a", "v")]


@pytest.mark.parametrize("name", ["x-a", "grpc-status", "a.b_c-0"])
def test_check_name_ok(name: str) -> None:
    check_name(name)


@pytest.mark.parametrize("name", ["", "X-Upper", "a b", "a:b", "a\r\nb", "a\x00", "é"])
def test_check_name_rejects(name: str) -> None:
    with pytest.raises(ProtocolError) as info:
        check_name(name)
    assert info.value.code is Code.INTERNAL


@pytest.mark.parametrize("value", ["ok\r\ngrpc-status: 0", "a\nb", "a\rb", "a\x00b"])
def test_check_value_rejects_injection(value: str) -> None:
    with pytest.raises(ProtocolError):
        check_value(value)
    with pytest.raises(ProtocolError):
        check_value(value, strict=False)


def test_check_value_strictness() -> None:
    check_value("printable ~ ascii\tok")
    check_value(b"\r\n\x00")  # bytes travel as base64
    check_value("café", strict=False)
    with pytest.raises(ProtocolError):
        check_value("café")
    with pytest.raises(ProtocolError):
        check_value("\x1b[31m")


def test_to_wire_pairs_refuses_injection() -> None:
    with pytest.raises(ProtocolError):
        Metadata([("x", "a\r\ngrpc-status: 0")]).to_wire_pairs()
    with pytest.raises(ProtocolError):
        Metadata([("bad name", "v")]).to_wire_pairs()


def test_header_list_size() -> None:
    md = Metadata([("ab", "cd"), ("x-bin", b"\x00\x01\x02\x03")])
    assert md.header_list_size() == (2 + 2 + 32) + (5 + 6 + 32)


@pytest.mark.parametrize(
    "option,expected",
    [
        ("Authorization: Bearer x", ("authorization", "Bearer x")),
        ("x-a:b", ("x-a", "b")),
        ("x-a:", ("x-a", "")),
        ("x-a: with: colon", ("x-a", "with: colon")),
        ("x-trace-bin: AAECAw", ("x-trace-bin", b"\x00\x01\x02\x03")),
        ("x-trace-bin: AAECAw==", ("x-trace-bin", b"\x00\x01\x02\x03")),
    ],
)
def test_parse_header_option(option: str, expected: tuple[str, str | bytes]) -> None:
    assert parse_header_option(option) == expected


@pytest.mark.parametrize(
    "option",
    [
        "no colon",
        ": value",
        "bad name: v",
        "x-a: a\r\nb",
        "x-a: \x00",
        "x-bin: !!!",
        ":authority: x",
    ],
)
def test_parse_header_option_rejects(option: str) -> None:
    with pytest.raises(UsageError):
        parse_header_option(option)


def test_sanitize_for_terminal() -> None:
    assert sanitize_for_terminal("plain\ttext\nline ☺ 😈") == "plain\ttext\nline ☺ 😈"
    assert sanitize_for_terminal("\x1b[2J\x1b]0;pwned\x07") == "\\x1b[2J\\x1b]0;pwned\\x07"
    assert sanitize_for_terminal("a\rb\x00\x7f\x9b") == "a\\x0db\\x00\\x7f\\x9b"
    assert sanitize_for_terminal("evil\u202etxt.exe\u2066") == "evil\\u202etxt.exe\\u2066"
