"""The pacer spaces batches to a rate, with a fake clock (no real waiting)."""

from __future__ import annotations

import pytest

from rpcctl.runner.pacing import Pacer

pytestmark = pytest.mark.asyncio


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


async def test_batches_are_spaced_by_their_size() -> None:
    clock = FakeClock()
    pacer = Pacer(100, clock=clock, sleep=clock.sleep)
    for rows in (10, 20, 10):
        await pacer.take(rows)
    assert clock.sleeps == [0.1, 0.2]  # the first batch goes at once


async def test_a_late_sender_does_not_burst() -> None:
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    await pacer.take(1)
    clock.now += 5  # the server was slow
    await pacer.take(1)
    await pacer.take(1)
    assert clock.sleeps == [0.1]


async def test_unpaced_and_bad_rates() -> None:
    await Pacer(None).take(1_000_000)
    with pytest.raises(ValueError, match="rate must be positive"):
        Pacer(0)
