"""The charts of the HTML report: what each plots (Python), drawn in the page by uPlot (inlined).

uPlot (MIT, ~50 KB, the `uplot` npm package, vendored in `vendor/`) draws on a canvas with labelled
axes, log scales and a legend; the report inlines it, so it opens without network access. Each
chart is a `Chart` record serialised to JSON in the page; `SCRIPT` turns the records into plots.

Charts: the latency histogram (calls against latency in ms), throughput over time (calls/s against
seconds since the start; the last, partial second is scaled by its length or dropped) and the
latency by percentile (HdrHistogram's percentile distribution: latency in ms against a log
scale of 1/(1-p), from the 50th to the 99.99th percentile) with one series per run or backend.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources

from rpcctl.bench.stats import Stats

UPLOT_VERSION = "1.6.32"
PALETTE = ("#4a7bd0", "#d07a2a", "#3a9d5d", "#a04ad0", "#d04a4a", "#2aa5b8", "#8a8a2a", "#555555")
ERROR_COLOUR = "#d04a4a"
HISTOGRAM_BUCKETS = 20
# The last second of a run is partial; a rate over less than this share of a second is noise.
MIN_PARTIAL_SECOND = 0.5
# HdrHistogram's percentile axis: x = 1/(1-p), p50 at 2 … p99.99 at 10 000.
PERCENTILE_TICKS = ((2.0, "50%"), (10.0, "90%"), (100.0, "99%"), (1000.0, "99.9%"), (10000.0, "99.99%"))
PERCENTILE_POINTS = 64


@dataclass(frozen=True)
class Axis:
    """One axis: its title (with the unit), a log scale or not, fixed ticks (value, label) if any."""

    label: str
    log: bool = False
    ticks: tuple[tuple[float, str], ...] = ()


@dataclass(frozen=True)
class Series:
    """One plotted series: its legend label, its colour and a y value for each x."""

    label: str
    colour: str
    values: list[float | None]


@dataclass(frozen=True)
class Chart:
    """One chart: `kind` "bars" or "lines", the shared x values and the series."""

    id: str
    title: str
    kind: str
    x: Axis
    y: Axis
    xs: list[float]
    series: list[Series] = field(default_factory=list)


def latency_histogram(chart_id: str, stats: Stats) -> Chart:
    """Calls per latency bucket (linear buckets from the fastest to the slowest call)."""
    buckets = stats.histogram.buckets_ms(HISTOGRAM_BUCKETS)
    return Chart(
        chart_id,
        "Latency histogram",
        "bars",
        Axis("latency (ms, bucket upper bound)"),
        Axis("calls"),
        [float(f"{bound:.3g}") for bound, _ in buckets],
        [Series("calls", PALETTE[0], [float(count) for _, count in buckets])],
    )


def throughput_points(stats: Stats) -> tuple[list[float], list[float | None], list[float | None]]:
    """(end of each second in s, calls/s, errors/s) over the run.

    Seconds with no call ended count as 0. The last second is partial (the run ended within it):
    its counts are divided by its length, or it is dropped when shorter than
    `MIN_PARTIAL_SECOND` (unless it is the only one), so the line does not fall at the end.
    """
    if not stats.timeline:
        return [], [], []
    last = max(stats.timeline)
    xs: list[float] = []
    calls: list[float | None] = []
    errors: list[float | None] = []
    for second in range(last + 1):
        span = 1.0
        if second == last and stats.elapsed > last:
            span = min(1.0, stats.elapsed - last)
            if span < MIN_PARTIAL_SECOND and last > 0:
                break
        done, failed = stats.timeline.get(second, (0, 0))
        xs.append(round(second + span, 3))
        calls.append(round(done / span, 3))
        errors.append(round(failed / span, 3))
    return xs, calls, errors


def throughput(chart_id: str, stats: Stats) -> Chart:
    """Calls and errors per second over the run."""
    xs, calls, errors = throughput_points(stats)
    return Chart(
        chart_id,
        "Throughput over time",
        "lines",
        Axis("time since the start (s)"),
        Axis("rate (calls/s)"),
        xs,
        [Series("calls/s", PALETTE[0], calls), Series("errors/s", ERROR_COLOUR, errors)],
    )


def percentile_distribution(chart_id: str, title: str, named: list[tuple[str, Stats]]) -> Chart:
    """Latency against percentile (log scale, 50 → 99.99), one series per named record."""
    top = PERCENTILE_TICKS[-1][0] / PERCENTILE_TICKS[0][0]
    xs = [PERCENTILE_TICKS[0][0] * top ** (i / (PERCENTILE_POINTS - 1)) for i in range(PERCENTILE_POINTS)]
    series = []
    for index, (name, stats) in enumerate(named):
        values: list[float | None] = [
            stats.histogram.percentile_ms(100.0 * (1.0 - 1.0 / x)) if stats.histogram.count else None
            for x in xs
        ]
        series.append(Series(name, PALETTE[index % len(PALETTE)], values))
    return Chart(
        chart_id,
        title,
        "lines",
        Axis("percentile (log scale of 1/(1-p))", log=True, ticks=PERCENTILE_TICKS),
        Axis("latency (ms)"),
        [round(x, 4) for x in xs],
        series,
    )


def figure(chart: Chart) -> str:
    """The element a chart is drawn into, with its title and axis titles in text."""
    from html import escape

    caption = f"{chart.title}: {chart.y.label} against {chart.x.label}"
    return (
        f"<figure class='chart'><h3>{escape(chart.title)}</h3>"
        f"<div id='{escape(chart.id)}' role='img' aria-label='{escape(caption)}'></div>"
        f"<figcaption>x: {escape(chart.x.label)}; y: {escape(chart.y.label)}</figcaption></figure>"
    )


def page_assets(charts: list[Chart]) -> tuple[str, str]:
    """(CSS for the head, scripts for the end of the body): uPlot, the chart records, the drawing."""
    here = resources.files("rpcctl.bench.render")
    css = (here / "vendor" / "uPlot.min.css").read_text(encoding="utf-8")
    library = (here / "vendor" / "uPlot.iife.min.js").read_text(encoding="utf-8")
    drawing = (here / "charts.js").read_text(encoding="utf-8")
    data = json.dumps([asdict(chart) for chart in charts], separators=(",", ":"))
    data = data.replace("</", "<\\/")  # nothing in the data may close the script element
    scripts = (
        f"<script>{library}</script>\n"
        f"<script type='application/json' id='rpcctl-charts'>{data}</script>\n"
        f"<script>{drawing}</script>"
    )
    return css, scripts
