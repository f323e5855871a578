"""What tail-logs and demo watch: a stand-in server or a recording proxy publishing call
events on a bus, with a recorder writing them to a capture, or a capture read back.

The capture is always written in the live modes (to `--record FILE`, else to a private
temporary file), so the TUI's save key can keep what was seen so far by copying it.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpcctl.call_events import EventBus

if TYPE_CHECKING:
    from rpcctl.proxy.recorder import Recorder
    from rpcctl.proxy.redact import Redactor
    from rpcctl.runner.standin import StandInService
    from rpcctl.runner.tasks import Task
    from rpcctl.schema.registry import Schema
    from rpcctl.server.serve import Server
    from rpcctl.transport.target import ChannelSettings


@dataclass
class Watch:
    """The running pieces of one tail-logs session."""

    mode: str
    bus: EventBus = field(default_factory=EventBus)
    server: Server | None = None
    standin: StandInService | None = None
    recorder: Recorder | None = None
    upstream: str = ""
    capture: Path | None = None
    _scratch: Path | None = None

    @property
    def url(self) -> str:
        """The URL runners are pointed at (prefix included), or ''."""
        return self.server.url if self.server is not None else ""

    async def drain(self) -> None:
        """Stop accepting calls and let the running ones end (the server's graceful close)."""
        if self.server is not None:
            await self.server.close()

    def cancel_task(self, tx_uuid: str) -> None:
        """Cancel a task on the stand-in: its next UpdateTask answers cancelled."""
        if self.standin is None:
            raise RuntimeError("cancelling needs the stand-in server (tail-logs --listen without --upstream)")
        if not self.standin.cancel(tx_uuid):
            raise RuntimeError(f"task {tx_uuid} is not known to the stand-in server")

    def save_capture(self, path: str) -> None:
        """Copy what was recorded so far to `path`."""
        if self.capture is None:
            raise RuntimeError("nothing is being recorded")
        from rpcctl.proxy.capture import copy_capture

        copy_capture(self.capture, path)


@contextlib.asynccontextmanager
async def watch_standin(
    schema: Schema,
    *,
    listen: str,
    prefix: str = "",
    tasks: Sequence[Task] = (),
    record: Path | None = None,
    redact: bool | Redactor = True,
    strict: bool = False,
    **server_options: Any,
) -> AsyncIterator[Watch]:
    """Serve the stand-in RunnerService on `listen` and record what it sees.

    `strict`: answer NOT_FOUND for a task it did not hand out instead of adopting it.
    """
    from rpcctl.runner.handlers import build_table
    from rpcctl.runner.standin import StandInService
    from rpcctl.server.serve import Server

    watch = Watch(mode="stand-in")
    watch.standin = StandInService(schema, tasks, strict=strict)
    server = Server(
        build_table(watch.standin, schema),
        listen=listen,
        prefix=prefix,
        schema=schema,
        bus=watch.bus,
        **server_options,
    )
    async with _recording(watch, schema, record, redact, {"mode": "stand-in"}):
        await server.start()
        watch.server = server
        try:
            yield watch
        finally:
            await server.close()


@contextlib.asynccontextmanager
async def watch_proxy(
    schema: Schema,
    *,
    listen: str,
    upstream: str | ChannelSettings,
    record: Path | None = None,
    redact: bool | Redactor = True,
    **server_options: Any,
) -> AsyncIterator[Watch]:
    """Serve a recording proxy in front of `upstream` (a URL, or settings with TLS options)
    and record what passes; `server_options` go to `serve_proxy` (upstream_http2,
    upstream_headers) and the server."""
    from rpcctl.proxy.forward import serve_proxy

    url = upstream if isinstance(upstream, str) else str(upstream.target)
    watch = Watch(mode="proxy", upstream=url)
    extra = {"mode": "proxy", "upstream": url}
    async with (
        _recording(watch, schema, record, redact, extra),
        serve_proxy(upstream, listen=listen, bus=watch.bus, schema=schema, **server_options) as server,
    ):
        watch.server = server
        yield watch


@contextlib.asynccontextmanager
async def _recording(
    watch: Watch, schema: Schema, record: Path | None, redact: bool | Redactor, extra: dict[str, Any]
) -> AsyncIterator[None]:
    from rpcctl.proxy.recorder import Recorder

    scratch = None
    if record is None:
        handle, name = tempfile.mkstemp(prefix="rpcctl-capture-", suffix=".jsonl")
        import os

        os.close(handle)
        scratch = record = Path(name)
    watch.capture = record
    watch.recorder = Recorder(watch.bus, record, schema, redact=redact, extra=extra)
    watch.recorder.start()
    try:
        yield
    finally:
        await watch.recorder.stop()
        if scratch is not None:
            scratch.unlink(missing_ok=True)
