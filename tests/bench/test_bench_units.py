"""The pieces of bench without a server: plans, schedules, templates, stats, the live view."""

from __future__ import annotations

import io

import pytest

from rpcctl.bench.plan import BenchPlan, LoadSchedule, ScheduleKind, Shard
from rpcctl.bench.schedule import due_times
from rpcctl.bench.stats import Stats
from rpcctl.bench.template import CallContext, Template
from rpcctl.errors import UsageError


def test_const_schedule_due_times() -> None:
    times = list(due_times(LoadSchedule(rps=10), 1.0))
    assert len(times) == 10
    assert times[0] == 0.0


def test_step_schedule_due_times() -> None:
    schedule = LoadSchedule(ScheduleKind.STEP, start=10, step=10, end=20, step_duration=1.0)
    assert len(list(due_times(schedule, 3.0))) == 10 + 20 + 20


def test_line_schedule_from_zero_waits_for_a_rate() -> None:
    times = list(due_times(LoadSchedule(ScheduleKind.LINE, start=0, step=100), 1.0))
    assert times and times[0] > 0
    assert 40 <= len(times) <= 60  # the integral of 100 t over [0, 1]


def test_split_divides_everything() -> None:
    plan = BenchPlan(concurrency=5, total=11, schedule=LoadSchedule(rps=30), connections=3)
    parts = plan.split(3)
    assert [p.total for p in parts] == [4, 4, 3]
    assert sum(p.concurrency for p in parts) == 5
    assert [p.schedule.rps for p in parts if p.schedule] == [10, 10, 10]
    assert [p.connections for p in parts] == [1, 1, 1]
    assert [(p.seq_offset, p.seq_stride) for p in parts] == [(0, 3), (1, 3), (2, 3)]
    assert [p.worker_offset for p in parts] == [0, 2, 4]


def test_shards_then_workers_keep_sequences_disjoint() -> None:
    plan = BenchPlan(concurrency=4, total=8)
    seqs = []
    for index in range(2):
        for part in plan.shard(Shard(index, 2)).split(2):
            assert part.total is not None
            seqs += [part.seq_offset + i * part.seq_stride for i in range(part.total)]
    assert sorted(seqs) == list(range(8))


@pytest.mark.parametrize("text", ["1", "2/2", "-1/2", "a/b", "0/0"])
def test_bad_shards(text: str) -> None:
    with pytest.raises(UsageError):
        Shard.parse(text)


def test_template_static_and_rendered() -> None:
    assert Template('{"a": 1}').static
    template = Template('{"n": {{ rand_int 7 7 }}, "s": "{{seq}}-{{worker}}"}')
    assert not template.static
    assert template.render(CallContext(3, 9)) == '{"n": 7, "s": "3-9"}'


@pytest.mark.parametrize(
    "text", ["{{nope}}", "{{rand_int 1}}", "{{rand_int 5 1}}", "{{rand_str x}}", "{{seq 1}}"]
)
def test_bad_templates(text: str) -> None:
    with pytest.raises(UsageError):
        Template(text)


def test_stats_round_trip_and_merge() -> None:
    a, b = Stats(), Stats()
    for ms in (1, 2, 3):
        a.record(ms / 1000, 0)
    b.record(0.004, 1, "UNAVAILABLE", "down")
    a.elapsed, b.elapsed = 1.0, 2.0
    a.merge(Stats.from_dict(b.to_dict()))
    assert (a.count, a.errors, a.elapsed) == (4, 1, 2.0)
    assert a.code_counts() == {"OK": 3, "UNAVAILABLE": 1}
    assert a.timeline == {0: [3, 0], 1: [1, 1]}
    again = Stats.from_dict(a.to_dict())
    assert again.histogram.count == 4
    assert again.histogram.max_ms() == pytest.approx(4.0, rel=0.01)
    assert again.messages == {"UNAVAILABLE: down": 1}


def test_live_line_and_panel() -> None:
    from rich.console import Console

    from rpcctl.bench.live import LiveView
    from rpcctl.bench.progress import ProgressBoard

    board = ProgressBoard(2)
    stats = Stats()
    stats.record(0.002, 0)
    stats.record(0.003, 0, "INTERNAL", "x")
    board.update(0, "run", stats)
    board.update(1, "run", Stats.from_dict(stats.to_dict(derived=False)))
    out = io.StringIO()
    view = LiveView(board, out, tty=False, label="grpc", total=10, duration=None)
    line = view.line()
    assert "calls=4" in line and "errors=2" in line and "INTERNAL=2" in line
    console = Console(file=out, width=120, force_terminal=False)
    console.print(view._panel())
    assert "calls 4" in out.getvalue()


def test_bench_help_does_not_import_heavy_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from rpcctl.cli.app import app, main\n"
        "from rpcctl.cli.bench import bench_command\n"
        "if not any(c.name == 'bench' for c in app.registered_commands):\n"
        "    app.command('bench')(bench_command)\n"
        "try:\n"
        "    main(['bench', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('grpc', 'httpx', 'textual', 'hdrh', 'google.protobuf', 'rpcctl.bench.worker')\n"
        "print([m for m in heavy if m in sys.modules], file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--concurrency" in result.stdout
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_live_current_rate_is_steady_when_workers_report_in_steps() -> None:
    from rpcctl.bench.live import LiveView
    from rpcctl.bench.progress import ProgressBoard

    # 1,000 calls/s, reported every half second (as worker processes do), drawn every quarter.
    now = [0.0]
    board = ProgressBoard(1)
    view = LiveView(
        board, io.StringIO(), tty=False, label="grpc", total=None, duration=10.0, clock=lambda: now[0]
    )
    rates = []
    for tick in range(1, 41):
        now[0] = tick * 0.25
        stats = Stats()
        for _ in range(int(now[0] * 2) * 500):  # the count the last report carried
            stats.record(0.001, 0)
        board.update(0, "run", stats)
        rates.append(view._rates("run", stats)[1])
    assert all(750 <= rate <= 1250 for rate in rates[8:]), rates


def test_live_current_rate_leaves_out_the_time_before_the_run() -> None:
    from rpcctl.bench.live import LiveView
    from rpcctl.bench.progress import ProgressBoard

    now = [0.0]
    view = LiveView(
        ProgressBoard(1),
        io.StringIO(),
        tty=False,
        label="grpc",
        total=None,
        duration=10.0,
        clock=lambda: now[0],
    )
    now[0] = 1.5  # connecting: no calls yet
    view._rates("connect", Stats())
    now[0] = 2.0
    view._rates("run", Stats())
    stats = Stats()
    for _ in range(500):
        stats.record(0.001, 0)
    now[0] = 2.5
    assert view._rates("run", stats)[1] == pytest.approx(1000)  # 500 calls in the run's first 0.5 s


async def _last_frame(interrupted: bool) -> str:
    import asyncio

    from rich.console import Console

    from rpcctl.bench.live import LiveView
    from rpcctl.bench.progress import ProgressBoard

    stats = Stats()
    for _ in range(3):
        stats.record(0.002, 0)
    stats.elapsed = 1.5
    board = ProgressBoard(1)
    board.attach(0, lambda: ("done" if not interrupted else "run", stats))
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=True, color_system=None)
    # The view's own clock saw only 2 s of a 30 s run: the last frame must not believe it.
    ticks = iter(range(100))
    view = LiveView(
        board, out, tty=True, label="grpc", total=None, duration=30.0, console=console,
        clock=lambda: float(next(ticks)),
    )  # fmt: skip
    view.start()
    await asyncio.sleep(0)
    await view.stop(interrupted=interrupted)
    return out.getvalue().rsplit("grpc", 1)[-1]


@pytest.mark.asyncio
async def test_live_last_frame_shows_100_percent() -> None:
    last = await _last_frame(interrupted=False)
    assert "done" in last and "100%" in last and "1.5s" in last


@pytest.mark.asyncio
async def test_live_last_frame_of_an_interrupted_run_shows_how_far_it_got() -> None:
    last = await _last_frame(interrupted=True)
    assert "interrupted" in last and "100%" not in last
