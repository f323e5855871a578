"""Unary calls in a loop through one `RpcChannel`, for `bench_cpu.py`: CPU per call of one path.

    python benchmarks/channel_loop.py TARGET --protocol grpc --path unary|open [--calls 20000]

``unary`` calls `RpcChannel.unary` (bench's path); ``open`` makes the same call through the
general stream API (`Channel.open`, send, half-close, receive: what `call`, replay and the
proxy use). 50 calls in flight on one channel. Prints JSON: client CPU per call (this process,
``time.process_time`` around the measured calls only, after a warmup) and calls/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ECHO_PATH = "/rpcctl.test.v1.TestService/Echo"
REQUEST = {"proto": b"\x0a\x05hello", "json": b'{"message":"hello"}'}
IN_FLIGHT = 50


async def run(args: argparse.Namespace) -> dict[str, float]:
    """Warm up, then time ``args.calls`` calls; CPU per call and calls/s."""
    from rpcctl.call import CallOptions, MethodInfo, unary_through
    from rpcctl.cli.options import channel_settings
    from rpcctl.client import open_channel
    from rpcctl.schema.registry import CallKind

    settings = channel_settings(
        args.target, protocol=args.protocol, codec=args.codec, http2=True if args.http2 else None
    )
    channel = open_channel(settings)
    method = MethodInfo(ECHO_PATH, CallKind.UNARY)
    options = CallOptions()
    request = REQUEST[args.codec]
    call = channel.unary if args.path == "unary" else None

    async def loop(count: int) -> None:
        for _ in range(count):
            if call is not None:
                await call(method, request, options)
            else:
                await unary_through(channel, method, request, options)

    async def batch(total: int) -> None:
        share, extra = divmod(total, IN_FLIGHT)
        await asyncio.gather(*(loop(share + (i < extra)) for i in range(IN_FLIGHT)))

    try:
        await batch(max(IN_FLIGHT, args.calls // 10))  # warmup: connections, caches
        cpu, wall = time.process_time(), time.perf_counter()
        await batch(args.calls)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await channel.aclose()
    return {"cpu_us": cpu / args.calls * 1e6, "rps": args.calls / wall}


def main() -> None:
    """Parse the options, run, print the JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("target")
    parser.add_argument("--protocol", default="grpc")
    parser.add_argument("--codec", default="proto")
    parser.add_argument("--http2", action="store_true")
    parser.add_argument("--path", choices=("unary", "open"), default="unary")
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
