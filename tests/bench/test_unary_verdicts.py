"""Unary calls over the verdict table (tests/support/verdicts.py), on both of a channel's paths.

A scripted h2c server gives each answer; `RpcChannel.unary` (bench's path) and a unary call
through `Channel.open` (what `rpcctl call` uses) must each report the row's code and message.
"""

from __future__ import annotations

import asyncio

import pytest

from rpcctl.bench.invoker import ChannelInvoker
from rpcctl.errors import RpcError
from rpcctl.wire.metadata import Metadata
from tests.bench.helpers import ECHO, settings
from tests.bench.raw_h2 import Answer, ScriptedH2
from tests.support.verdicts import (
    CONNECT_UNARY_VERDICTS,
    GRPC_VERDICTS,
    GRPC_WEB_VERDICTS,
    MAX_MESSAGE_SIZE,
    MESSAGE,
    Verdict,
)

LIMIT = 5.0  # seconds: no scripted exchange waits longer


def answer(row: Verdict) -> Answer:
    return Answer(
        str(row.http_status),
        row.headers,
        row.body or None,
        row.trailers or None,
    )


async def outcome(row: Verdict, protocol: str, cheap: bool) -> tuple[str, str]:
    async with ScriptedH2(answer(row)).running() as server:
        chosen = settings(
            f"127.0.0.1:{server.port}", protocol, max_msg_size=MAX_MESSAGE_SIZE, http2=protocol != "grpc",
            codec="proto",
        )  # fmt: skip
        invoker = ChannelInvoker(chosen, ECHO, Metadata(), LIMIT, cheap=cheap)
        try:
            async with asyncio.timeout(LIMIT):
                await invoker.connect()
                await invoker.unary(MESSAGE, None)
        except RpcError as exc:
            return exc.code.name, exc.message
        finally:
            await invoker.aclose()
    return "OK", ""


def check(row: Verdict, protocol: str) -> None:
    for cheap in (True, False):
        code, message = asyncio.run(outcome(row, protocol, cheap))
        assert code == row.expected_code.name, (cheap, message)
        assert row.expected_message in message, cheap


@pytest.mark.parametrize("row", GRPC_VERDICTS, ids=[row.name for row in GRPC_VERDICTS])
def test_grpc(row: Verdict) -> None:
    check(row, "grpc")


@pytest.mark.parametrize("row", GRPC_WEB_VERDICTS, ids=[row.name for row in GRPC_WEB_VERDICTS])
def test_grpc_web_h2(row: Verdict) -> None:
    check(row, "grpc-web")


@pytest.mark.parametrize("row", CONNECT_UNARY_VERDICTS, ids=[row.name for row in CONNECT_UNARY_VERDICTS])
def test_connect_h2(row: Verdict) -> None:
    check(row, "connect")
