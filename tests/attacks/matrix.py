"""The attack matrix of issue 13 (§6–§9), at two sizes: bounded for the tests, full for the table.

Each `Attack` opens `connections` connections in parallel (threads, each bounded in bytes and
time) and checks every `Outcome` against what the server must do. `run_matrix` runs them in
order against one target and returns a row per attack with the target's RSS before and after;
`benchmarks/attack_matrix.py` prints those rows as the closing note's table.
"""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.attacks import peers
from tests.attacks.peers import Outcome
from tests.attacks.targets import Target

MAX_THREADS = 256


@dataclass(frozen=True)
class Attack:
    """One kind of attack: what each connection does and what the server must answer."""

    name: str
    connections: int
    attack: Callable[[tuple[str, int]], Outcome]
    expected: str
    answered: Callable[[Outcome], bool]


@dataclass(frozen=True)
class Row:
    """What one attack did: how many connections got the expected answer, RSS around it."""

    name: str
    connections: int
    expected: str
    answered: int
    rss_before: float
    rss_after: float
    rss_peak: float
    ping_after: int | None
    refused_streams: int = 0

    @property
    def held(self) -> bool:
        """Every connection got the expected answer, and a normal call answered OK afterwards."""
        return self.answered == self.connections and self.ping_after == 0


@dataclass(frozen=True)
class Sizes:
    """How hard to push; `BOUNDED` in the tests, `FULL` (the issue's figures) in the benchmark."""

    oversized_connections: int
    oversized_bytes: int
    reset_connections: int
    reset_streams: int
    slow_connections: int
    idle_connections: int
    surplus_connections: int
    stream_connections: int  # each opens 100 streams and never ends them
    header_timeout: float
    idle_timeout: float
    max_connections: int
    max_calls: int


BOUNDED = Sizes(3, 2**20, 2, 5000, 20, 10, 5, 4, 1.0, 2.0, 64, 200)
FULL = Sizes(10, 15 * 2**20, 10, 5000, 200, 200, 10, 40, 10.0, 5.0, 500, 1000)


def surplus(address: tuple[str, int], hold: int, deadline: float) -> list[Outcome]:
    """Connections past the limit: `hold` connections served, then one more must be closed at once.

    Connections closed just before (by an earlier attack) take the server a moment to count
    out, so a held connection refused meanwhile is opened again (at most `hold` times).
    """
    held: list[socket.socket] = []
    retries = hold
    try:
        while len(held) < hold:
            sock = socket.create_connection(address, timeout=deadline)
            sock.sendall(peers.PREFACE + peers.frame(peers.SETTINGS, 0, 0))
            try:
                served = bool(sock.recv(peers.CHUNK))  # the server's SETTINGS: counted in
            except OSError:
                served = False
            if served:
                held.append(sock)
                continue
            sock.close()
            retries -= 1
            assert retries > 0, f"the server serves fewer than {hold} connections"
            time.sleep(0.1)
        return [peers.idle(address, deadline=deadline, http2=False)]
    finally:
        for sock in held:
            sock.close()


def attacks(sizes: Sizes) -> list[Attack]:
    """The matrix for one size (timeouts as the target was started with)."""
    slow_deadline = sizes.header_timeout * 3 + 5
    idle_deadline = sizes.idle_timeout * 3 + 5
    return [
        Attack(
            "oversized DATA frame (declared 16 MiB)",
            sizes.oversized_connections,
            lambda a: peers.oversized_data(a, send=sizes.oversized_bytes),
            "GOAWAY FRAME_SIZE_ERROR, closed",
            lambda o: o.goaway == peers.FRAME_SIZE_ERROR and o.closed,
        ),
        Attack(
            f"rapid reset ({sizes.reset_streams} HEADERS+RST_STREAM, one write)",
            sizes.reset_connections,
            lambda a: peers.rapid_reset(a, streams=sizes.reset_streams),
            "GOAWAY ENHANCE_YOUR_CALM, closed",
            lambda o: o.goaway == peers.ENHANCE_YOUR_CALM and o.closed,
        ),
        Attack(
            "slowloris HTTP/2 (header block dripped)",
            sizes.slow_connections,
            lambda a: peers.slow_h2_headers(a, deadline=slow_deadline),
            "GOAWAY NO_ERROR, closed",
            lambda o: o.goaway == peers.NO_ERROR and o.closed,
        ),
        Attack(
            "slowloris HTTP/1.1 (header lines dripped)",
            sizes.slow_connections,
            lambda a: peers.slow_h1_headers(a, deadline=slow_deadline),
            "408, closed",
            lambda o: o.received.startswith(b"HTTP/1.1 408") and o.closed,
        ),
        Attack(
            "idle HTTP/2 connection (preface only)",
            sizes.idle_connections,
            lambda a: peers.idle(a, deadline=idle_deadline),
            "GOAWAY NO_ERROR, closed",
            lambda o: o.goaway == peers.NO_ERROR and o.closed,
        ),
        Attack(
            f"stream flood (100 streams a connection, bodies never sent; call limit {sizes.max_calls})",
            sizes.stream_connections,
            lambda a: peers.open_streams(a, hold=3),
            "streams past the limit REFUSED_STREAM, no error GOAWAY",
            # A connection whose every stream was refused is idle, and may idle out.
            lambda o: o.goaway in (None, peers.NO_ERROR),
        ),
        Attack(
            f"connections past the limit of {sizes.max_connections}",
            sizes.surplus_connections,
            lambda a: surplus(a, sizes.max_connections, deadline=5)[0],
            "closed at once",
            lambda o: o.closed and not o.received,
        ),
    ]


def run_attack(target: Target, attack: Attack) -> Row:
    """Run one attack against `target` and measure."""
    assert target.address is not None
    address = target.address
    before = target.rss_mib()
    workers = 1 if attack.name.startswith("connections past") else min(attack.connections, MAX_THREADS)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(lambda _: attack.attack(address), range(attack.connections)))
    after = target.rss_mib()
    answered = sum(1 for outcome in outcomes if attack.answered(outcome))
    peak = target.rss_mib("VmHWM")
    refused = sum(outcome.refused for outcome in outcomes)
    row = Row(attack.name, attack.connections, attack.expected, answered, before, after, peak, target.ping())
    return dataclasses.replace(row, refused_streams=refused)


def run_matrix(target: Target, sizes: Sizes) -> list[Row]:
    """Every attack of the matrix, in order."""
    return [run_attack(target, attack) for attack in attacks(sizes)]


def target_options(sizes: Sizes) -> list[str]:
    """The `serve` options a target needs for `sizes`."""
    return [
        "--header-timeout",
        str(sizes.header_timeout),
        "--idle-timeout",
        str(sizes.idle_timeout),
        "--max-connections",
        str(sizes.max_connections),
        "--max-calls",
        str(sizes.max_calls),
    ]
