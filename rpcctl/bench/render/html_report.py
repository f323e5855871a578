"""The HTML report: one self-contained file, charts drawn as inline SVG (no scripts, no assets)."""

from __future__ import annotations

from html import escape

from rpcctl.bench.report import BenchReport, RunReport
from rpcctl.bench.stats import Stats

WIDTH, HEIGHT, PAD = 640, 220, 40
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { padding: .2em .8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
svg { background: #fafafa; border: 1px solid #ddd; margin: .5em 0 1.5em; }
.bar { fill: #4a7bd0; } .line { fill: none; stroke: #4a7bd0; stroke-width: 2; }
.err { fill: none; stroke: #d04a4a; stroke-width: 2; } text { font-size: 11px; fill: #555; }
"""


def render_html(report: BenchReport) -> str:
    """The whole report as one HTML document."""
    body = [f"<h1>rpcctl bench: {escape(report.runs[0].method) if report.runs else ''}</h1>"]
    if len(report.runs) > 1:
        body.append(_protocol_table(report.runs))
    for run in report.runs:
        body.append(_run(run))
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>rpcctl bench report</title>"
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _run(run: RunReport) -> str:
    stats = run.result.stats
    latency = stats.histogram.summary_ms()
    parts = [f"<h2>{escape(run.protocol)} → {escape(', '.join(run.targets))}</h2>"]
    rows = [
        ["calls", str(stats.count)],
        ["duration (s)", f"{stats.elapsed:.3f}"],
        ["calls/s", f"{stats.rps:.1f}"],
        ["errors", f"{stats.errors} ({stats.error_rate:.2%})"],
        ["late calls", str(stats.late)],
        ["warmup calls (not counted)", str(run.result.warmup_calls)],
    ]
    parts.append(_table(["", "value"], rows))
    parts.append(_table(["latency (ms)", *latency], [["", *(f"{v:.3f}" for v in latency.values())]]))
    parts.append("<h3>Latency histogram</h3>" + _histogram_svg(stats))
    parts.append("<h3>Throughput over time</h3>" + _timeline_svg(stats))
    parts.append(_table(["status code", "calls"], [[c, str(n)] for c, n in stats.code_counts().items()]))
    if stats.messages:
        top = stats.messages.most_common(10)
        parts.append(_table(["error", "calls"], [[m, str(n)] for m, n in top]))
    if run.result.backends:
        rows = []
        for name, part in run.result.backends.items():
            lat = part.histogram.summary_ms()
            rows.append([name, str(part.count), str(part.errors), f"{lat['p50']:.3f}", f"{lat['p99']:.3f}"])
        parts.append(_table(["backend", "calls", "errors", "p50 ms", "p99 ms"], rows))
    return "\n".join(parts)


def _histogram_svg(stats: Stats) -> str:
    buckets = stats.histogram.buckets_ms(20)
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}'>"]
    if buckets:
        top = max(count for _, count in buckets) or 1
        span = (WIDTH - 2 * PAD) / len(buckets)
        for index, (bound, count) in enumerate(buckets):
            height = (HEIGHT - 2 * PAD) * count / top
            x = PAD + index * span
            out.append(
                f"<rect class='bar' x='{x:.1f}' y='{HEIGHT - PAD - height:.1f}' width='{span - 2:.1f}' "
                f"height='{height:.1f}'><title>≤ {bound:.3f} ms: {count}</title></rect>"
            )
            if index % 4 == 0 or index == len(buckets) - 1:
                out.append(f"<text x='{x:.1f}' y='{HEIGHT - PAD + 14}'>{bound:.2f}</text>")
        out.append(f"<text x='{PAD}' y='{PAD - 10}'>calls (max {top}) by latency (ms)</text>")
    out.append("</svg>")
    return "".join(out)


def _timeline_svg(stats: Stats) -> str:
    points = sorted(stats.timeline.items())
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}'>"]
    if points:
        last = max(second for second, _ in points) or 1
        top = max(calls for _, (calls, _) in points) or 1

        def xy(second: int, value: int) -> str:
            x = PAD + (WIDTH - 2 * PAD) * second / last
            y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top
            return f"{x:.1f},{y:.1f}"

        calls = " ".join(xy(second, slot[0]) for second, slot in points)
        errors = " ".join(xy(second, slot[1]) for second, slot in points)
        out.append(f"<polyline class='line' points='{calls}'/>")
        out.append(f"<polyline class='err' points='{errors}'/>")
        out.append(f"<text x='{PAD}' y='{PAD - 10}'>calls per second (max {top}); errors in red</text>")
        out.append(f"<text x='{WIDTH - PAD - 30}' y='{HEIGHT - PAD + 14}'>{last} s</text>")
    out.append("</svg>")
    return "".join(out)


def _protocol_table(runs: list[RunReport]) -> str:
    header = ["", *(run.protocol for run in runs)]
    stats = [run.result.stats for run in runs]
    lat = [s.histogram.summary_ms() for s in stats]
    rows = [
        ["calls", *(str(s.count) for s in stats)],
        ["calls/s", *(f"{s.rps:.1f}" for s in stats)],
        ["errors", *(str(s.errors) for s in stats)],
        *([f"{key} ms", *(f"{item[key]:.3f}" for item in lat)] for key in ("p50", "p99", "p99.9")),
    ]
    return "<h2>Per protocol</h2>" + _table(header, rows)
