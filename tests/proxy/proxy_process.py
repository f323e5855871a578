"""A recording proxy as a process of its own, for the crash test and the attack tests.

`python -m tests.proxy.proxy_process UPSTREAM CAPTURE [--header-timeout S] [--idle-timeout S]
[--max-connections N] [--max-calls N]` prints ``{"port": N}`` once listening, then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from rpcctl.call_events import EventBus
from rpcctl.proxy.forward import serve_proxy
from rpcctl.proxy.recorder import Recorder
from rpcctl.server.limits import HEADER_TIMEOUT_S, IDLE_TIMEOUT_S, MAX_CALLS, MAX_CONNECTIONS, ServerLimits
from tests.support.schema import compile_test_schema


async def main(upstream: str, capture: str, limits: ServerLimits) -> None:
    schema = compile_test_schema()
    bus = EventBus()
    serving = serve_proxy(upstream, bus=bus, schema=schema, limits=limits)
    async with Recorder(bus, capture, schema), serving as server:
        print(json.dumps({"port": server.port}), flush=True)
        await server.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("upstream")
    parser.add_argument("capture")
    parser.add_argument("--header-timeout", type=float, default=HEADER_TIMEOUT_S)
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT_S)
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS)
    parser.add_argument("--max-calls", type=int, default=MAX_CALLS)
    args = parser.parse_args()
    limits = ServerLimits(args.header_timeout, args.idle_timeout, args.max_connections, args.max_calls)
    asyncio.run(main(args.upstream, args.capture, limits))
