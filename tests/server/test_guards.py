"""The sans-IO halves of the server's guards: frame scanning, the reset budget, one-line errors."""

from __future__ import annotations

import asyncio
import logging

import pytest

from rpcctl.server import errorlog
from rpcctl.server.frame_scan import FrameScanner
from rpcctl.server.gate import Allowance
from rpcctl.server.h2_guard import ResetBudget
from rpcctl.transport.h2_frames import (
    CONTINUATION,
    DATA,
    FLAG_END_HEADERS,
    HEAD,
    HEADERS,
    PREFACE,
    SETTINGS,
    frame,
)


def head(kind: int, length: int, flags: int = 0, stream: int = 1) -> bytes:
    return HEAD.pack(length >> 8, length & 0xFF, kind, flags, stream)


def test_overlong_frame_is_reported_at_its_header_before_any_payload():
    scanner = FrameScanner(16384)
    assert scanner.feed(PREFACE + frame(SETTINGS, 0, 0, b"")) is None
    assert scanner.feed(head(DATA, 2**24 - 1)) == 2**24 - 1


def test_frame_of_exactly_the_limit_passes_and_one_more_does_not():
    scanner = FrameScanner(16384)
    assert scanner.feed(PREFACE + head(DATA, 16384) + b"\0" * 16384) is None
    assert scanner.feed(head(DATA, 16385)) == 16385


def test_header_split_across_reads_is_still_checked():
    scanner = FrameScanner(16384)
    data = PREFACE + head(DATA, 70000)
    results = [scanner.feed(data[i : i + 1]) for i in range(len(data))]
    assert results[-1] == 70000
    assert all(r is None for r in results[:-1])


def test_partial_follows_preface_frames_and_header_blocks():
    scanner = FrameScanner()
    assert not scanner.partial  # nothing yet: idle, not slow
    scanner.feed(PREFACE[:5])
    assert scanner.partial
    scanner.feed(PREFACE[5:] + frame(SETTINGS, 0, 0, b""))
    assert not scanner.partial
    scanner.feed(frame(HEADERS, 0, 1, b"\x82"))  # no END_HEADERS: a CONTINUATION must follow
    assert scanner.partial
    continuation = frame(CONTINUATION, FLAG_END_HEADERS, 1, b"\x84\x86")
    scanner.feed(continuation[:10])  # its header and half its block
    assert scanner.partial
    scanner.feed(continuation[10:])
    assert not scanner.partial


def test_reset_budget_allows_a_burst_then_refuses():
    budget = ResetBudget(burst=3, rate=0.0)
    assert [budget.take() for _ in range(4)] == [True, True, True, False]


def test_describe_and_bounded_keep_one_short_line():
    assert errorlog.bounded("a\nb" + "x" * 500, 20) == "a\\nb" + "x" * 15 + "…"
    group = ExceptionGroup("outer", [ValueError("inner\ntext")])
    assert errorlog.describe(group) == "ValueError: inner\\ntext"


def test_logged_exception_becomes_one_line(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(errorlog.DEBUG_VARIABLE, raising=False)
    errorlog.install()
    try:
        raise KeyError("k")
    except KeyError:
        logging.getLogger("rpcctl.server.hypercorn").exception("Error in ASGI Framework")
    [record] = [r for r in caplog.records if r.name == "rpcctl.server.hypercorn"]
    assert record.getMessage() == "Error in ASGI Framework: KeyError: 'k'"
    assert record.exc_info is None


def test_loop_exception_handler_logs_one_line(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(errorlog.DEBUG_VARIABLE, raising=False)
    loop = asyncio.new_event_loop()
    try:
        errorlog.loop_exception_handler(
            loop, {"message": "Unhandled exception in client_connected_cb", "exception": RuntimeError("x")}
        )
    finally:
        loop.close()
    [record] = [r for r in caplog.records if r.name == "rpcctl.server"]
    assert record.getMessage() == "Unhandled exception in client_connected_cb: RuntimeError: x"
    assert record.exc_info is None


def test_allowance_refuses_past_its_limit_and_warns_once_each_time_it_fills(caplog: pytest.LogCaptureFixture):
    allowance = Allowance(2, "things open")
    assert [allowance.take() for _ in range(4)] == [True, True, False, False]
    allowance.give()
    assert allowance.take()
    assert not allowance.take()
    warnings = [r.getMessage() for r in caplog.records if r.name == "rpcctl.server"]
    assert warnings == ["2 things open", "2 things open"]
    assert allowance.refused == 3
