"""The 5-byte envelope writer and the sans-IO reader."""

from __future__ import annotations

import random
import struct

import pytest

from rpcctl.errors import ProtocolError
from rpcctl.wire.envelope import (
    DEFAULT_MAX_MESSAGE_SIZE,
    FLAG_COMPRESSED,
    FLAG_END_STREAM,
    FLAG_TRAILER,
    Envelope,
    EnvelopeReader,
    encode_envelope,
)
from rpcctl.wire.status import Code

CONNECT_FLAGS = FLAG_COMPRESSED | FLAG_END_STREAM
GRPC_WEB_FLAGS = FLAG_COMPRESSED | FLAG_TRAILER


def test_empty_message_example() -> None:
    assert encode_envelope(b"") == bytes.fromhex("0000000000")


def test_buf_message_example() -> None:
    assert encode_envelope(bytes.fromhex("0a03427566")) == bytes.fromhex("00000000050a03427566")


def test_trailer_frame_example() -> None:
    frame = encode_envelope(b"grpc-status: 0\r\n", FLAG_TRAILER)
    assert frame == bytes.fromhex("80 00 00 00 10 67 72 70 63 2d 73 74 61 74 75 73 3a 20 30 0d 0a")


def test_connect_end_stream_example() -> None:
    assert encode_envelope(b"{}", FLAG_END_STREAM) == bytes.fromhex("02000000027b7d")


def test_envelope_properties() -> None:
    env = Envelope(0x83, b"x")
    assert env.compressed and env.end_stream and env.trailer
    assert not Envelope(0, b"").compressed
    assert Envelope(1, b"ab").encode() == b"\x01\x00\x00\x00\x02ab"


def _stream(rng: random.Random, count: int) -> tuple[bytes, list[Envelope]]:
    envelopes = [
        Envelope(rng.choice((0, FLAG_COMPRESSED)), rng.randbytes(rng.choice((0, 1, 7, 300))))
        for _ in range(count)
    ]
    envelopes.append(Envelope(FLAG_END_STREAM, b"{}"))
    return b"".join(e.encode() for e in envelopes), envelopes


def test_byte_by_byte() -> None:
    data, expected = _stream(random.Random(1), 20)
    reader = EnvelopeReader(allowed_flags=CONNECT_FLAGS)
    got: list[Envelope] = []
    for i in range(len(data)):
        got += reader.feed(data[i : i + 1])
    reader.finish()
    assert got == expected
    assert reader.ended and reader.buffered == 0


@pytest.mark.parametrize("seed", range(5))
def test_random_chunks(seed: int) -> None:
    rng = random.Random(seed)
    data, expected = _stream(rng, 50)
    reader = EnvelopeReader(allowed_flags=CONNECT_FLAGS)
    got: list[Envelope] = []
    pos = 0
    while pos < len(data):
        size = rng.randint(1, 700)
        got += reader.feed(data[pos : pos + size])
        pos += size
    reader.finish()
    assert got == expected


def test_all_in_one_chunk_and_empty_feed() -> None:
    data = encode_envelope(b"") + encode_envelope(b"") + encode_envelope(b"abc")
    reader = EnvelopeReader()
    assert reader.feed(b"") == []
    got = reader.feed(data)
    assert [e.data for e in got] == [b"", b"", b"abc"]
    # A zero-length payload is an empty message, not the end of the stream (as the Connect
    # conformance suite's *_client_empty cases expect).
    assert not reader.ended


def test_big_message_many_chunks() -> None:
    body = bytes(range(256)) * 4096  # 1 MiB
    data = encode_envelope(body)
    reader = EnvelopeReader()
    got: list[Envelope] = []
    for pos in range(0, len(data), 1000):
        got += reader.feed(data[pos : pos + 1000])
        if not got:
            assert reader.buffered == min(pos + 1000, len(data))
    assert got == [Envelope(0, body)]


def test_message_at_limit_accepted() -> None:
    reader = EnvelopeReader(max_size=10)
    assert reader.feed(encode_envelope(b"x" * 10)) == [Envelope(0, b"x" * 10)]


def test_message_over_limit_rejected_after_prefix() -> None:
    reader = EnvelopeReader(max_size=10)
    with pytest.raises(ProtocolError) as info:
        reader.feed(struct.pack(">BI", 0, 11))
    assert info.value.code is Code.RESOURCE_EXHAUSTED
    # The reader stays failed.
    with pytest.raises(ProtocolError):
        reader.feed(b"x")


def test_4gib_length_rejected_without_buffering() -> None:
    reader = EnvelopeReader()
    with pytest.raises(ProtocolError) as info:
        reader.feed(b"\x00\xff\xff\xff\xff" + b"x" * 100)
    assert info.value.code is Code.RESOURCE_EXHAUSTED
    assert str(0xFFFFFFFF) in info.value.message
    assert str(DEFAULT_MAX_MESSAGE_SIZE) in info.value.message
    assert reader.buffered == 0


def test_4gib_length_split_prefix() -> None:
    reader = EnvelopeReader()
    assert reader.feed(b"\x00\xff\xff") == []
    with pytest.raises(ProtocolError) as info:
        reader.feed(b"\xff\xff")
    assert info.value.code is Code.RESOURCE_EXHAUSTED


@pytest.mark.parametrize("flags", [0x02, 0x04, 0x40, 0x80, 0xFF])
def test_unknown_flags_grpc(flags: int) -> None:
    reader = EnvelopeReader()
    with pytest.raises(ProtocolError) as info:
        reader.feed(encode_envelope(b"", flags))
    assert info.value.code is Code.INTERNAL
    assert info.value.message.startswith("protocol error: invalid envelope flags")


def test_end_stream_flag_allowed_for_connect_but_not_trailer() -> None:
    reader = EnvelopeReader(allowed_flags=CONNECT_FLAGS)
    assert reader.feed(encode_envelope(b"{}", 0x03))[0].compressed
    reader = EnvelopeReader(allowed_flags=CONNECT_FLAGS)
    with pytest.raises(ProtocolError):
        reader.feed(encode_envelope(b"", FLAG_TRAILER))


def test_grpc_web_trailer_frame_ends_stream() -> None:
    reader = EnvelopeReader(allowed_flags=GRPC_WEB_FLAGS)
    got = reader.feed(encode_envelope(b"a") + encode_envelope(b"grpc-status: 0\r\n", 0x81))
    assert [e.trailer for e in got] == [False, True]
    assert reader.ended


def test_extra_bytes_after_end_stream_same_chunk() -> None:
    reader = EnvelopeReader(allowed_flags=CONNECT_FLAGS)
    # What arrived intact is handed out; the error follows on the next feed or finish.
    assert reader.feed(encode_envelope(b"{}", FLAG_END_STREAM) + b"abc") == [Envelope(FLAG_END_STREAM, b"{}")]
    with pytest.raises(ProtocolError) as info:
        reader.finish()
    assert info.value.code is Code.INTERNAL
    assert info.value.message == "corrupt response: 3 extra bytes after end of stream"


def test_extra_bytes_after_trailer_later_chunk() -> None:
    reader = EnvelopeReader(allowed_flags=GRPC_WEB_FLAGS)
    reader.feed(encode_envelope(b"", FLAG_TRAILER))
    with pytest.raises(ProtocolError) as info:
        reader.feed(b"\x00\x00")
    assert info.value.message == "corrupt response: 2 extra bytes after end of stream"


def test_truncated_prefix() -> None:
    reader = EnvelopeReader()
    reader.feed(b"\x00\x00")
    assert reader.buffered == 2
    with pytest.raises(ProtocolError) as info:
        reader.finish()
    assert info.value.code is Code.INVALID_ARGUMENT
    assert info.value.message.startswith("truncated envelope")


def test_truncated_body() -> None:
    reader = EnvelopeReader()
    reader.feed(encode_envelope(b"hello")[:-2])
    assert reader.buffered == 8
    with pytest.raises(ProtocolError) as info:
        reader.finish()
    assert info.value.code is Code.INVALID_ARGUMENT
    assert "3 of 5" in info.value.message


def test_finish_clean() -> None:
    reader = EnvelopeReader()
    reader.feed(encode_envelope(b"x"))
    reader.finish()
    EnvelopeReader().finish()
