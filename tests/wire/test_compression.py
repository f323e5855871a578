"""Per-message compression, including decompression bombs."""

from __future__ import annotations

import gzip
import random
import zlib

import pytest

from rpcctl.errors import RpcError
from rpcctl.wire.compression import (
    SUPPORTED,
    accept_header,
    compress,
    decompress,
    is_supported,
    negotiate,
)
from rpcctl.wire.status import Code

DATA = random.Random(7).randbytes(5000) + b"a" * 5000


@pytest.mark.parametrize("name", SUPPORTED)
def test_round_trip(name: str) -> None:
    assert decompress(name, compress(name, DATA), len(DATA)) == DATA


def test_formats_interoperate_with_stdlib() -> None:
    assert gzip.decompress(compress("gzip", DATA)) == DATA
    assert zlib.decompress(compress("deflate", DATA)) == DATA  # zlib (RFC 1950), not raw
    assert decompress("gzip", gzip.compress(DATA), 10**6) == DATA
    assert decompress("GZIP", gzip.compress(DATA), 10**6) == DATA


def test_gzip_multi_member() -> None:
    data = gzip.compress(b"ab") + gzip.compress(b"cd")
    assert decompress("gzip", data, 10) == b"abcd"
    with pytest.raises(RpcError) as info:
        decompress("gzip", data, 3)
    assert info.value.code is Code.RESOURCE_EXHAUSTED


def test_zero_length_is_empty_message() -> None:
    assert decompress("gzip", b"", 0) == b""
    assert decompress("deflate", b"", 0) == b""
    assert compress("identity", b"") == b""


def test_gzip_bomb_rejected() -> None:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    bomb = b"".join(comp.compress(chunk) for _ in range(50)) + comp.flush()
    assert len(bomb) < 100_000
    with pytest.raises(RpcError) as info:
        decompress("gzip", bomb, 1024)
    assert info.value.code is Code.RESOURCE_EXHAUSTED
    assert info.value.message == "decompressed message larger than 1024 bytes"


def test_exactly_at_limit() -> None:
    assert decompress("deflate", compress("deflate", b"x" * 100), 100) == b"x" * 100
    with pytest.raises(RpcError):
        decompress("deflate", compress("deflate", b"x" * 101), 100)


def test_identity_limit() -> None:
    with pytest.raises(RpcError) as info:
        decompress("identity", b"abc", 2)
    assert info.value.code is Code.RESOURCE_EXHAUSTED


@pytest.mark.parametrize(
    "name,data",
    [
        ("gzip", b"not gzip at all"),
        ("deflate", b"\x00\x01\x02\x03"),
        ("gzip", gzip.compress(b"hello world")[:-6]),
        ("deflate", zlib.compress(b"hello") + b"junk"),
    ],
)
def test_corrupt_input_is_internal(name: str, data: bytes) -> None:
    with pytest.raises(RpcError) as info:
        decompress(name, data, 1000)
    assert info.value.code is Code.INTERNAL


def test_unknown_encoding() -> None:
    with pytest.raises(RpcError) as info:
        compress("snappy", b"x")
    assert info.value.code is Code.UNIMPLEMENTED
    assert "gzip" in info.value.message
    with pytest.raises(RpcError) as info:
        decompress("foo", b"x", 10)
    assert info.value.code is Code.UNIMPLEMENTED
    assert not is_supported("foo") and is_supported(" Gzip ")


def test_accept_header() -> None:
    assert accept_header() == "gzip, deflate, identity"


@pytest.mark.parametrize(
    "accept,expected",
    [
        ("gzip", "gzip"),
        ("br, zstd, deflate, gzip", "deflate"),
        ("", "identity"),
        ("snappy", "identity"),
        ("gzip;q=0.1, deflate;q=0.9", "deflate"),
        ("gzip;q=0, deflate", "deflate"),
        ("GZIP , identity", "gzip"),
    ],
)
def test_negotiate(accept: str, expected: str) -> None:
    assert negotiate(accept) == expected


def test_decompress_response_is_a_clients_view_of_the_codes() -> None:
    from rpcctl.wire.compression import decompress_response

    packed = compress("gzip", b"x" * 100)
    assert decompress_response("gzip", packed, 100) == b"x" * 100
    assert decompress_response(" GZIP ", b"", 100) == b""
    for encoding in (None, "", "identity"):
        with pytest.raises(RpcError) as caught:
            decompress_response(encoding, packed, 100)
        assert caught.value.code is Code.INTERNAL
        assert "without negotiated compression" in caught.value.message
    for encoding, data, code in (("br", packed, Code.INTERNAL), ("gzip", b"junk", Code.INTERNAL),
                                 ("gzip", packed, Code.RESOURCE_EXHAUSTED)):  # fmt: skip
        with pytest.raises(RpcError) as caught:
            decompress_response(encoding, data, 99 if code is Code.RESOURCE_EXHAUSTED else 100)
        assert caught.value.code is code
