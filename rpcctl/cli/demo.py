"""`rpcctl demo`: the stand-in server, a few simulated runners and the tail-logs TUI, in one process.

Needs no network, no files and no other process: the server listens on a free loopback
port, the runners talk to it over the chosen protocol (Connect by default), one of their
steps fails and one task is cancelled midway. Headless (a summary) when not a terminal;
there SIGTERM (exit 0) and Ctrl-C (exit 130) first drain the server, as `tail-logs` does
(`rpcctl.cli.presenting`), so every row it acknowledged is in the summary.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from rpcctl.cli import options as o
from rpcctl.cli.command import environment, run

PREFIX = "/api/v1/pipeline"


EXAMPLES = (
    ("everything at once, in the terminal UI", "rpcctl demo"),
    ("more runners, over native gRPC", "rpcctl demo --runners 10 --protocol grpc"),
    ("lines and a summary instead of the UI, for a script", "rpcctl demo --headless --rows 20"),
)


def demo_command(
    ctx: typer.Context,
    runners: Annotated[
        int,
        typer.Option("--runners", rich_help_panel=o.LOAD, help="Simulated runners (1-50).", min=1, max=50),
    ] = 3,
    rows: Annotated[
        int, typer.Option("--rows", rich_help_panel=o.LOAD, help="Log rows per action.", min=1, max=100_000)
    ] = 100,
    rows_per_sec: Annotated[
        float,
        typer.Option("--rows-per-sec", rich_help_panel=o.LOAD, help="Log rows per second per runner.", min=1),
    ] = 40,
    protocol: Annotated[
        str,
        typer.Option(
            "--protocol", metavar="PROTOCOL", rich_help_panel=o.CONN, help="connect, grpc or grpc-web."
        ),
    ] = "connect",
    headless: Annotated[
        bool,
        typer.Option(
            "--headless",
            rich_help_panel=o.OUTPUT,
            help="Print lines instead of the TUI (default when piped).",
        ),
    ] = False,
) -> None:
    """Show everything at once: stand-in server, simulated runners, and the tail-logs TUI."""
    env = environment(ctx)

    async def main() -> int:
        from rpcctl.call_events import EventKind
        from rpcctl.cli.options import channel_settings
        from rpcctl.cli.presenting import present
        from rpcctl.client import open_channel
        from rpcctl.runner.simulator import RunnerOptions, SimulatedRunner
        from rpcctl.runner.tailing import SubscriptionSource
        from rpcctl.runner.tasks import synthetic_task
        from rpcctl.runner.watch import watch_standin
        from rpcctl.schema.registry import Schema
        from rpcctl.schema.sources import bundled_files
        from rpcctl.tui.actions import StatusInfo, TuiActions

        schema = Schema(bundled_files())
        tasks = [
            synthetic_task(stages=2, steps=2, rows=rows, fail_step=(1, 1) if n == 0 else None)
            for n in range(runners)
        ]
        doomed = tasks[-1].tx_uuid if runners > 1 else None
        async with watch_standin(schema, listen="127.0.0.1:0", prefix=PREFIX, tasks=tasks) as watch:
            settings = channel_settings(watch.url, protocol=protocol, http2=protocol != "connect")
            options = RunnerOptions(
                rows_per_action=rows,
                rows_per_second=rows_per_sec,
                batch_size=max(1, int(rows_per_sec // 10)),
                max_duration=300.0,
            )

            async def one(n: int) -> None:
                channel = open_channel(settings)
                try:
                    await SimulatedRunner(channel, schema, name=f"demo-runner-{n + 1}", options=options).run()
                finally:
                    await channel.aclose()

            async def cancel_one() -> None:
                """Cancel the last task once its first log rows arrive, as a user would."""
                with watch.bus.subscribe() as events:
                    async for event in events:
                        message = event.message if isinstance(event.message, dict) else {}
                        if (
                            event.kind is EventKind.REQUEST
                            and event.method.endswith("/UpdateLog")
                            and message.get("txUuid") == doomed
                        ):
                            watch.cancel_task(event.message["txUuid"])
                            return

            fleet = asyncio.gather(*(one(n) for n in range(runners)))
            canceller = asyncio.create_task(cancel_one()) if doomed is not None else None
            status = StatusInfo(listen=watch.url)
            actions = TuiActions(cancel_task=watch.cancel_task, save_capture=watch.save_capture)
            try:
                with watch.bus.subscribe() as subscription:
                    return await present(
                        env,
                        SubscriptionSource(subscription),
                        headless=headless or not env.stdout_isatty,
                        mode="demo",
                        status=status,
                        actions=actions,
                        until=fleet,
                        drain=watch.drain,
                    )
            finally:
                for task in (fleet, canceller):
                    if task is not None:
                        task.cancel()
                await asyncio.gather(fleet, *([canceller] if canceller else []), return_exceptions=True)

    run(env, main)
