"""50 concurrent UpdateLog writers for the SIGTERM drain test (run as a script).

Usage: python drain_writers.py URL WRITERS MAX_CALLS [h2c|http1]. Each writer pushes batches of 5 rows
to its own task (adopted by the stand-in) until a call fails (the server went away) or
MAX_CALLS; it counts the rows the server acknowledged (`ack_index == index + 5`).
Prints `started` once every writer had one answer, then `{"acknowledged": N}` at the end.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

from rpcctl.call import CallOptions, unary
from rpcctl.cli.options import channel_settings
from rpcctl.client import open_channel
from rpcctl.codec import codec_for
from rpcctl.errors import RpcctlError
from rpcctl.runner.messages import RunnerMessages
from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import bundled_files

BATCH = 5


async def main(url: str, writers: int, max_calls: int, http2: bool) -> None:
    schema = Schema(bundled_files())
    messages = RunnerMessages(schema)
    channel = open_channel(channel_settings(url, http2=http2))
    codec = codec_for(channel.codec, schema.pool)
    info = messages.method_info("UpdateLog")
    answer_type = schema.message_class(messages.method("UpdateLog").output_type)
    acknowledged = 0
    first = asyncio.Barrier(writers + 1)

    async def writer() -> None:
        nonlocal acknowledged
        tx = str(uuid.uuid4())
        index = 0
        for call in range(max_calls):
            rows = [f"{tx[:8]} row {index + i}" for i in range(BATCH)]
            request = messages.new("UpdateLogRequest", tx_uuid=tx, index=index, rows=rows)
            try:
                data = await unary(channel, info, codec.encode(request), CallOptions(timeout=20))
            except RpcctlError as exc:
                print(f"writer {tx[:8]} call {call}: {exc}", file=sys.stderr, flush=True)
                break
            finally:
                if call == 0:
                    await first.wait()
            if codec.decode(data, answer_type).ack_index == index + BATCH:
                acknowledged += BATCH
            index += BATCH

    tasks = [asyncio.create_task(writer()) for _ in range(writers)]
    await first.wait()
    print("started", flush=True)
    await asyncio.gather(*tasks)
    await channel.aclose()
    print(json.dumps({"acknowledged": acknowledged}), flush=True)


if __name__ == "__main__":
    http2 = sys.argv[4:5] != ["http1"]
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), http2))
