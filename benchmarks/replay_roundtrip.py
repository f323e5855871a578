"""Runner sessions through the recording proxy, then replayed onto a second server: nothing lost.

    python benchmarks/replay_roundtrip.py [--runners 4] [--rows 2000] [--protocol connect]

1. Stand-in server A (the upstream) with one task per runner; a recording proxy in front.
2. N simulated runners push their logs through the proxy; A's stored rows are compared with
   the rows the runners sent, and the capture's events are counted.
3. The capture is replayed (`--speed max`) onto stand-in server B; B's rows are compared with A's.
Everything runs in this process on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PREFIX = "/api/v1/pipeline"


async def main(runners: int, rows: int, protocol: str) -> int:
    from rpcctl.cli.options import channel_settings
    from rpcctl.client import open_channel
    from rpcctl.proxy.capture import read_capture
    from rpcctl.runner.replay import ReplayOptions, replay
    from rpcctl.runner.simulator import RunnerOptions, SimulatedRunner
    from rpcctl.runner.tasks import synthetic_task
    from rpcctl.runner.watch import watch_proxy, watch_standin
    from rpcctl.schema.registry import Schema
    from rpcctl.schema.sources import bundled_files

    schema = Schema(bundled_files())
    per_action = rows // 4
    tasks = [synthetic_task(stages=2, steps=2, rows=per_action) for _ in range(runners)]
    capture = Path(tempfile.mkdtemp(prefix="rpcctl-roundtrip-")) / "capture.jsonl"
    http2 = protocol != "connect"
    async with watch_standin(schema, listen="127.0.0.1:0", prefix=PREFIX, tasks=tasks) as upstream:
        async with watch_proxy(schema, listen="127.0.0.1:0", upstream=upstream.url, record=capture) as proxy:
            settings = channel_settings(proxy.url, protocol=protocol, http2=http2)

            async def one(n: int) -> object:
                channel = open_channel(settings)
                try:
                    options = RunnerOptions(rows_per_action=per_action, keep_rows=True, batch_size=100)
                    return await SimulatedRunner(channel, schema, name=f"r{n}", options=options).run()
                finally:
                    await channel.aclose()

            started = time.perf_counter()
            summaries = await asyncio.gather(*(one(n) for n in range(runners)))
            pushed = time.perf_counter() - started
        assert upstream.standin is not None
        sent = {}
        for summary in summaries:
            sent.update(summary.sent)  # type: ignore[attr-defined]
        stored = {}
        for task in tasks:
            stored.update(upstream.standin.rows(task.tx_uuid))
        sent_rows = sum(len(v) for v in sent.values())
        lost = sum(1 for key, texts in sent.items() if stored.get(key) != texts)
        events = sum(1 for _ in read_capture(capture).events())
        print(f"through the proxy ({protocol}): {runners} runners sent {sent_rows:,} rows in {pushed:.2f} s; "
              f"upstream stored {sum(len(v) for v in stored.values()):,}; streams differing: {lost}; "
              f"capture: {events:,} events")  # fmt: skip

        async with watch_standin(schema, listen="127.0.0.1:0", prefix=PREFIX, tasks=[]) as second:
            assert second.standin is not None
            for _ in tasks:  # the second server hands out tasks of the same shape, with new ids
                second.standin.add_task(synthetic_task(stages=2, steps=2, rows=per_action))
            started = time.perf_counter()
            summary = await replay(
                capture,
                channel_settings(second.url, protocol=protocol, http2=http2),
                ReplayOptions(speed=None),
            )
            replayed = time.perf_counter() - started
            again = {}
            for tx in second.standin.tasks:
                for key, texts in second.standin.rows(tx).items():
                    again[(key.stage_idx, key.step_row_idx, key.step_idx, key.action_idx, tx)] = texts
        delivered = sum(len(v) for v in again.values())
        print(f"replayed onto a second server: {summary.rows:,} rows in {replayed:.2f} s, "
              f"{delivered:,} stored, ok={summary.ok}, ack mismatches {summary.ack_mismatches}, errors {summary.errors}")  # fmt: skip
        return 0 if lost == 0 and summary.ok and delivered == sent_rows else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", type=int, default=4)
    parser.add_argument("--rows", type=int, default=2000, help="rows per runner")
    parser.add_argument("--protocol", default="connect")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.runners, args.rows, args.protocol)))
