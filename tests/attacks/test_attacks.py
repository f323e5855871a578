"""`rpcctl serve` and the recording proxy under the attacks of issue 13 (§6–§9), in bounded form.

Each attack is a scripted client on 127.0.0.1 (`tests.attacks.peers`); each test asserts what
the server answers every attacking connection (the GOAWAY code, a 408, the close), that a
normal call still answers, that nothing but single log lines reached stderr, and, after the
whole matrix, that resident memory stays within `MEMORY_BOUND_MIB`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcctl.server.limits import MEMORY_BOUND_MIB
from tests.attacks.matrix import BOUNDED, attacks, run_attack, run_matrix, target_options
from tests.attacks.targets import Target, start_proxy, start_serve

pytestmark = pytest.mark.slow
ATTACKS = {attack.name.split(" (")[0]: attack for attack in attacks(BOUNDED)}


@pytest.fixture(scope="module")
def served() -> Iterator[Target]:
    """`rpcctl serve` with the bounded matrix's limits."""
    target = start_serve(*target_options(BOUNDED))
    yield target
    target.stop()


@pytest.fixture(scope="module")
def proxied(served: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The recording proxy in front of `served`."""
    capture = tmp_path_factory.mktemp("attacks") / "capture.jsonl"
    target = start_proxy(served.url, capture, *target_options(BOUNDED))
    yield target
    target.stop()


def one_line_logs(target: Target) -> None:
    assert "Traceback" not in target.stderr
    assert all(not line.startswith((" ", "\t", "+", "|")) for line in target.lines), target.stderr


@pytest.mark.parametrize("name", list(ATTACKS))
def test_serve_answers_each_attack(served: Target, name: str) -> None:
    row = run_attack(served, ATTACKS[name])
    assert row.answered == row.connections, f"{name}: {row.answered}/{row.connections} got {row.expected}"
    assert row.ping_after == 0
    one_line_logs(served)


def test_rapid_reset_is_one_log_line_per_connection(served: Target) -> None:
    attack = ATTACKS["rapid reset"]
    before = served.stderr.count("ENHANCE_YOUR_CALM")
    run_attack(served, attack)
    lines = [line for line in served.lines if "ENHANCE_YOUR_CALM" in line]
    assert len(lines) - before == attack.connections
    assert "more than 200 streams reset at once" in lines[-1]


def test_streams_past_the_call_limit_are_refused(served: Target) -> None:
    row = run_attack(served, ATTACKS["stream flood"])
    opened = 100 * row.connections
    # Calls an earlier test left may still be counted out: at least the surplus is refused.
    assert opened - BOUNDED.max_calls <= row.refused_streams < opened
    assert row.ping_after == 0


@pytest.mark.parametrize("name", ["oversized DATA frame", "rapid reset", "slowloris HTTP/2", "stream flood"])
def test_proxy_answers_each_attack(proxied: Target, name: str) -> None:
    row = run_attack(proxied, ATTACKS[name])
    assert row.answered == row.connections, f"{name}: {row.answered}/{row.connections} got {row.expected}"
    assert row.ping_after == 0
    one_line_logs(proxied)


def test_memory_bound_after_the_matrix(served: Target, proxied: Target, tmp_path: Path) -> None:
    for target in (served, proxied):
        rows = run_matrix(target, BOUNDED)
        assert all(row.held for row in rows), rows
        assert max(row.rss_peak for row in rows) <= MEMORY_BOUND_MIB
        assert target.ping() == 0
        one_line_logs(target)
