"""The verdict table (tests/support/verdicts.py) through each protocol's decoder.

Every row is fed whole and one byte at a time; the outcome must be the row's expected code and
message. Cardinality is applied here as the call layer applies it to a unary call.
"""

from __future__ import annotations

import pytest

from rpcctl.errors import RpcError
from rpcctl.protocols.connect import ConnectUnaryDecoder
from rpcctl.protocols.exchange import ResponseDecoder
from rpcctl.protocols.grpc import GrpcDecoder
from rpcctl.protocols.grpc_web import GrpcWebDecoder
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code
from tests.support.verdicts import (
    CONNECT_UNARY_VERDICTS,
    GRPC_VERDICTS,
    GRPC_WEB_VERDICTS,
    MAX_MESSAGE_SIZE,
    MESSAGE,
    Verdict,
)


def unary_outcome(decoder: ResponseDecoder, row: Verdict, step: int) -> tuple[Code, str]:
    """What a unary call reports for this answer: the decoder's verdict, then cardinality."""
    messages: list[bytes] = []
    try:
        decoder.start(row.http_status, Metadata.from_wire_pairs(row.headers))
        for pos in range(0, len(row.body), step):
            messages += decoder.feed(row.body[pos : pos + step])
        decoder.take_trailers(Metadata.from_wire_pairs(row.trailers))
        messages += decoder.finish()
    except RpcError as exc:
        assert decoder.status is not None and decoder.status.code is exc.code
        return exc.code, exc.message
    if not messages:
        return Code.UNIMPLEMENTED, "the call ended without a response message"
    if len(messages) > 1:
        return Code.UNIMPLEMENTED, "the server sent more than one response message"
    assert messages == [MESSAGE]
    assert decoder.status is not None and decoder.status.code is Code.OK
    return Code.OK, ""


def check(decoder: ResponseDecoder, row: Verdict, step: int) -> None:
    code, message = unary_outcome(decoder, row, step)
    assert code is row.expected_code, message
    assert row.expected_message in message


@pytest.mark.parametrize("step", [1 << 20, 1], ids=["whole", "bytewise"])
@pytest.mark.parametrize("row", GRPC_VERDICTS, ids=[row.name for row in GRPC_VERDICTS])
def test_grpc(row: Verdict, step: int) -> None:
    check(GrpcDecoder("proto", MAX_MESSAGE_SIZE), row, step)


@pytest.mark.parametrize("step", [1 << 20, 1], ids=["whole", "bytewise"])
@pytest.mark.parametrize("row", GRPC_WEB_VERDICTS, ids=[row.name for row in GRPC_WEB_VERDICTS])
def test_grpc_web(row: Verdict, step: int) -> None:
    check(GrpcWebDecoder("proto", MAX_MESSAGE_SIZE), row, step)


@pytest.mark.parametrize("step", [1 << 20, 1], ids=["whole", "bytewise"])
@pytest.mark.parametrize("row", CONNECT_UNARY_VERDICTS, ids=[row.name for row in CONNECT_UNARY_VERDICTS])
def test_connect_unary(row: Verdict, step: int) -> None:
    check(ConnectUnaryDecoder("proto", MAX_MESSAGE_SIZE), row, step)
