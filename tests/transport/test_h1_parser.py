"""The sans-IO HTTP/1.1 response parser (`rpcctl.transport.h1_parser`), fed in every split."""

from __future__ import annotations

import pytest

from rpcctl.transport.h1_parser import BadResponse, Limits, NotHttp1, ResponseParser

CHUNKED = (
    b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-h: 1\r\n\r\n"
    b"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\ngrpc-status: 0\r\nx-t: a\r\n\r\n"
)


class Events:
    """Records what the parser reports."""

    def __init__(self) -> None:
        self.head: tuple[int, list[tuple[bytes, bytes]]] | None = None
        self.body = bytearray()
        self.trailers: list[tuple[bytes, bytes]] | None = None

    def on_head(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        assert self.head is None
        self.head = (status, headers)

    def on_data(self, data: bytes) -> None:
        assert self.head is not None and self.trailers is None
        self.body += data

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        self.trailers = trailers


def parse(data: bytes, size: int, max_body: int | None = None) -> Events:
    events = Events()
    parser = ResponseParser(Limits(), events)
    parser.reset(events, max_body)
    for start in range(0, len(data), size):
        assert not parser.feed(data[start : start + size])
    return events


@pytest.mark.parametrize("size", [1, 2, 5, 9, 64, len(CHUNKED)])
def test_chunked_with_interim_and_trailers_in_any_split(size: int) -> None:
    events = parse(CHUNKED, size)
    assert events.head == (200, [(b"transfer-encoding", b"chunked"), (b"x-h", b"1")])
    assert bytes(events.body) == b"hello 0123456789"
    assert events.trailers == [(b"grpc-status", b"0"), (b"x-t", b"a")]


def test_streamed_body_is_not_capped_but_a_gathered_one_is() -> None:
    data = b"HTTP/1.1 200 OK\r\ncontent-length: 3000\r\n\r\n" + b"x" * 3000
    assert len(parse(data, 100).body) == 3000
    with pytest.raises(BadResponse, match="larger than 1000"):
        parse(data, 100, max_body=1000)


def test_bytes_after_the_response_are_reported() -> None:
    events = Events()
    parser = ResponseParser(Limits(), events)
    parser.reset(events, None)
    assert parser.feed(b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n")
    assert parser.done


@pytest.mark.parametrize(
    ("data", "speaks"),
    [
        (bytes.fromhex("000000040000000000"), "h2c"),  # an empty SETTINGS frame (Node)
        (bytes.fromhex("000012040000000000"), "h2c"),
        (bytes.fromhex("0000080700000000000000000000000001"), "h2c"),  # GOAWAY
        (bytes.fromhex("150301000202"), "tls"),
        (bytes.fromhex("16030300"), "tls"),
    ],
)
@pytest.mark.parametrize("size", [1, 3, 100])
def test_other_protocols_are_recognised_in_any_split(data: bytes, speaks: str, size: int) -> None:
    with pytest.raises(NotHttp1) as caught:
        parse(data, size)
    assert caught.value.speaks == speaks


def test_a_short_answer_then_eof() -> None:
    events = Events()
    parser = ResponseParser(Limits(), events)
    parser.reset(events, None)
    parser.feed(b"\x16")  # too short to tell TLS: not HTTP at least
    with pytest.raises(BadResponse, match="16"):
        parser.feed_eof()
    parser.reset(events, None)
    parser.feed(b"HTT")
    assert not parser.feed_eof()  # a cut-off HTTP answer: the connection broke
    parser.reset(events, None)
    parser.feed(b"\x00\x00")
    with pytest.raises(BadResponse, match="00 00"):
        parser.feed_eof()
