"""Several targets and gRPC's client-side balancing policies: round_robin, pick_first, least_loaded."""

from __future__ import annotations

import enum
import itertools
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rpcctl.bench.stats import Stats
from rpcctl.errors import TransportError, UsageError

if TYPE_CHECKING:
    from rpcctl.bench.invoker import Invoker


class Policy(enum.Enum):
    """How a call picks its backend."""

    ROUND_ROBIN = "round_robin"
    PICK_FIRST = "pick_first"
    LEAST_LOADED = "least_loaded"


def expand_targets(targets: list[str]) -> list[str]:
    """Every backend address of the targets given: `ipv4:h1:p1,h2:p2`, `ipv6:…`, `dns:///host:port`."""
    out: list[str] = []
    for target in targets:
        if target.startswith(("ipv4:", "ipv6:")):
            scheme, _, rest = target.partition(":")
            for address in rest.split(","):
                address = address.strip()
                if not address:
                    continue
                if scheme == "ipv6" and not address.startswith("["):
                    host, _, port = address.rpartition(":")
                    address = f"[{host}]:{port}"
                out.append(address)
        elif target.startswith("dns:"):
            out.extend(_resolve(target))
        else:
            out.append(target)
    if not out:
        raise UsageError("no target given")
    return out


def _resolve(target: str) -> list[str]:
    """`dns:///host:port` (or `dns:host:port`): one backend per address the name resolves to."""
    name = target.removeprefix("dns:").removeprefix("///")
    if name.startswith("//"):  # dns://authority/host:port: the DNS server is not ours to choose
        name = name[2:].split("/", 1)[-1]
    host, sep, port_text = name.rpartition(":")
    if not sep or not port_text.isdigit():
        raise UsageError(f"invalid target {target!r}: use dns:///host:port")
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, int(port_text), type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransportError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    addresses: list[str] = []
    for family, _, _, _, sockaddr in infos:
        ip = str(sockaddr[0])
        address = f"[{ip}]:{port_text}" if family == socket.AF_INET6 else f"{ip}:{port_text}"
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass
class Backend:
    """One target: its connections, the calls in flight on it, and its own record."""

    name: str
    invokers: list[Invoker]
    stats: Stats = field(default_factory=Stats)
    inflight: int = 0
    healthy: bool = True
    _next: int = 0

    def invoker(self) -> Invoker:
        """The next connection, round-robin."""
        self._next = (self._next + 1) % len(self.invokers)
        return self.invokers[self._next]


class Balancer:
    """Picks a backend per call according to a policy."""

    def __init__(self, backends: list[Backend], policy: Policy) -> None:
        self.backends = backends
        self.policy = policy
        self._cycle = itertools.cycle(range(len(backends)))

    @property
    def usable(self) -> list[Backend]:
        """The backends that connected."""
        return [backend for backend in self.backends if backend.healthy]

    def pick(self) -> Backend:
        """The backend for the next call."""
        backends = self.backends
        if len(backends) == 1:
            return backends[0]
        if self.policy is Policy.PICK_FIRST:
            for backend in backends:
                if backend.healthy:
                    return backend
        elif self.policy is Policy.LEAST_LOADED:
            start = next(self._cycle)
            best: Backend | None = None
            for offset in range(len(backends)):
                backend = backends[(start + offset) % len(backends)]
                if backend.healthy and (best is None or backend.inflight < best.inflight):
                    best = backend
            if best is not None:
                return best
        else:
            for _ in range(len(backends)):
                backend = backends[next(self._cycle)]
                if backend.healthy:
                    return backend
        return backends[0]

    async def connect(self) -> list[str]:
        """Connect every backend; unreachable ones are left out. Returns a warning per failure."""
        import asyncio

        async def one(backend: Backend) -> str | None:
            try:
                await asyncio.gather(*(invoker.connect() for invoker in backend.invokers))
            except TransportError as exc:
                backend.healthy = False
                return str(exc)
            return None

        failures = await asyncio.gather(*(one(backend) for backend in self.backends))
        warnings = [f for f in failures if f is not None]
        if not self.usable:
            raise TransportError(warnings[0] if len(warnings) == 1 else "; ".join(warnings))
        return warnings

    async def aclose(self) -> None:
        """Close every connection."""
        import asyncio

        await asyncio.gather(
            *(invoker.aclose() for backend in self.backends for invoker in backend.invokers),
            return_exceptions=True,
        )
