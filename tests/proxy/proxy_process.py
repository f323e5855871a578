"""A recording proxy as a process of its own, for the crash test.

`python -m tests.proxy.proxy_process UPSTREAM CAPTURE` prints ``{"port": N}`` once
listening, then serves until killed.
"""

from __future__ import annotations

import asyncio
import json
import sys

from rpcctl.call_events import EventBus
from rpcctl.proxy.forward import serve_proxy
from rpcctl.proxy.recorder import Recorder
from tests.support.schema import compile_test_schema


async def main(upstream: str, capture: str) -> None:
    schema = compile_test_schema()
    bus = EventBus()
    async with Recorder(bus, capture, schema), serve_proxy(upstream, bus=bus, schema=schema) as server:
        print(json.dumps({"port": server.port}), flush=True)
        await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
