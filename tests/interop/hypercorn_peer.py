"""The start-up shared by the Python interop peers (sonora_peer.py, connect_python_peer.py).

`run` serves an ASGI app under hypercorn on 127.0.0.1, port 0, prints {"port": N} as one JSON
line on stdout once the socket is listening, and returns when stdin closes or on SIGTERM /
SIGINT.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config


async def _serve(make_app: Callable[[Path], Any], descriptor_set: Path) -> None:
    app = make_app(descriptor_set)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.accesslog = None
    config.errorlog = None
    config.keep_alive_timeout = 60
    config.graceful_timeout = 1.0

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_stdin() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the parent is gone or wants us gone
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps({"port": port}), flush=True)
    await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]


def run(script: str, make_app: Callable[[Path], Any]) -> None:
    """Entry point of ``script``: serve ``make_app(DESCRIPTOR_SET)`` (built on the running loop)."""
    if len(sys.argv) != 2:
        sys.exit(f"usage: {script} DESCRIPTOR_SET")
    asyncio.run(_serve(make_app, Path(sys.argv[1])))
