"""A proxy served for real in a background thread (its own event loop), for CLI-driven tests.

`run_cli` runs its own event loop, so the proxy under test runs in another thread:
`serve_proxy` (our server, h2c and HTTP/1.1 on one port, with `proxy_table`) in front of
an upstream, and a `Recorder` writing the capture.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rpcctl.call_events import CallEvent, EventBus, EventKind
from rpcctl.proxy.capture import iter_events


@dataclass
class RunningProxy:
    """A proxy listening on 127.0.0.1 and the capture it writes."""

    port: int
    capture: Path
    loop: asyncio.AbstractEventLoop

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def events(self, calls: int = 1, timeout: float = 10.0) -> list[CallEvent]:
        """The captured events once `calls` calls have ended (the recorder writes asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            events = list(iter_events(self.capture))
            if sum(e.kind is EventKind.END for e in events) >= calls or time.monotonic() > deadline:
                return events
            time.sleep(0.02)


@contextmanager
def running_proxy(
    upstream: str, schema: Any, capture: Path, *, redact: bool = True, upstream_http2: bool | None = None
) -> Iterator[RunningProxy]:
    """Run a recording proxy in front of `upstream` in a thread; stop it on exit."""
    from rpcctl.proxy.forward import serve_proxy
    from rpcctl.proxy.recorder import Recorder

    ready = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        bus = EventBus()
        stop = asyncio.Event()
        state["stop"] = stop
        state["loop"] = asyncio.get_running_loop()
        async with (
            Recorder(bus, capture, schema, redact=redact),
            serve_proxy(upstream, bus=bus, schema=schema, upstream_http2=upstream_http2) as server,
        ):
            state["port"] = server.port
            ready.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced to the test below
            state["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, name="proxy", daemon=True)
    thread.start()
    ready.wait(10)
    if "error" in state:
        raise state["error"]
    loop: asyncio.AbstractEventLoop = state["loop"]
    try:
        yield RunningProxy(state["port"], capture, loop)
    finally:
        stop_event: asyncio.Event = state["stop"]
        loop.call_soon_threadsafe(stop_event.set)
        thread.join(10)
        if "error" in state:
            raise state["error"]


def call_in(loop: asyncio.AbstractEventLoop, fn: Callable[[], Any]) -> None:
    """Run `fn` in the proxy's loop."""
    loop.call_soon_threadsafe(fn)
