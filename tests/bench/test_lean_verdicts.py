"""Bench's lean unary paths over the verdict table (tests/support/verdicts.py).

A scripted h2c server gives each answer; `LeanGrpcInvoker` (native gRPC) and `LeanH2Invoker`
(gRPC-Web, Connect) must report the row's code and message, as the decoders do.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rpcctl.bench.lean_grpc import LeanGrpcInvoker
from rpcctl.bench.lean_invoker import LeanH2Invoker
from rpcctl.errors import RpcError
from rpcctl.wire.metadata import Metadata
from tests.bench.raw_h2 import Answer, ScriptedH2
from tests.bench.test_bench_lean import ECHO, settings
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


async def outcome(row: Verdict, protocol: str) -> tuple[str, str]:
    async with ScriptedH2(answer(row)).running() as server:
        chosen = settings(
            f"127.0.0.1:{server.port}", protocol, max_msg_size=MAX_MESSAGE_SIZE, http2=protocol != "grpc",
            codec="proto",
        )  # fmt: skip
        invoker: Any = (
            LeanGrpcInvoker(chosen, ECHO, Metadata(), LIMIT)
            if protocol == "grpc"
            else LeanH2Invoker(chosen, ECHO, Metadata(), LIMIT)
        )
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
    code, message = asyncio.run(outcome(row, protocol))
    assert code == row.expected_code.name, message
    assert row.expected_message in message


@pytest.mark.parametrize("row", GRPC_VERDICTS, ids=[row.name for row in GRPC_VERDICTS])
def test_lean_grpc(row: Verdict) -> None:
    check(row, "grpc")


@pytest.mark.parametrize("row", GRPC_WEB_VERDICTS, ids=[row.name for row in GRPC_WEB_VERDICTS])
def test_lean_h2_grpc_web(row: Verdict) -> None:
    check(row, "grpc-web")


@pytest.mark.parametrize("row", CONNECT_UNARY_VERDICTS, ids=[row.name for row in CONNECT_UNARY_VERDICTS])
def test_lean_h2_connect(row: Verdict) -> None:
    check(row, "connect")
