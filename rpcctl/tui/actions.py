"""What the tail-logs TUI is told by the CLI: its status line facts and the actions it may call.

Plain Python, so the CLI builds these without importing Textual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

ActionResult = Awaitable[Any] | Any
"""An action may be a plain function or a coroutine function; the app awaits coroutines."""


@dataclass(frozen=True)
class TuiActions:
    """The optional operations behind the c, r and s keys.

    A missing one (None) makes its key answer "not available in this mode". Each may
    return an awaitable; an exception it raises is shown as an error notification.
    """

    cancel_task: Callable[[str], ActionResult] | None = None
    """Cancel task `tx_uuid` (stand-in mode: its next UpdateTask answers cancelled)."""
    replay_task: Callable[[str], ActionResult] | None = None
    """Replay task `tx_uuid` against the `--replay-target`."""
    save_capture: Callable[[str], ActionResult] | None = None
    """Write the capture recorded so far to `path`."""


@dataclass(frozen=True)
class StatusInfo:
    """The fixed facts of the status bar."""

    listen: str = ""
    """The address tail-logs listens on (proxy and stand-in modes)."""
    upstream: str = ""
    """The upstream URL (proxy mode)."""
    source: str = ""
    """The capture read (offline mode)."""
    capture_file: str = ""
    """The capture being written (`--record`)."""
    save_path: str = "rpcctl-capture-{time}.jsonl"
    """Where the s key saves; `{time}` becomes the local time as YYYYmmdd-HHMMSS."""
    redact: Any = True
    """What the call inspector hides, as in the capture: True for credentials (header names and
    message fields, see `rpcctl.proxy.redact`), a `Redactor` for those and its extra names, False
    for nothing (`--no-redact`)."""


MODES = ("proxy", "stand-in", "offline", "demo")
"""The modes tail-logs runs in."""
