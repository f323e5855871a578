"""The HTML report: one self-contained file (uPlot and the data inlined; no network when viewed).

Each run states what was measured (date, rpcctl version, protocol, method, targets, every load
option), then its figures, its charts (`rpcctl.bench.render.charts`) and its tables. With several
runs (protocols) or backends, one chart overlays their latency by percentile.
"""

from __future__ import annotations

from html import escape
from typing import Any

from rpcctl.bench.render import charts
from rpcctl.bench.report import BenchReport, RunReport

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { padding: .2em .8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
table.about td { text-align: left; }
figure.chart { margin: .5em 0 1.5em; }
figure.chart h3 { margin: 0 0 .3em; }
figcaption { font-size: 12px; color: #666; }
.warning { color: #a04a00; }
"""


def render_html(report: BenchReport) -> str:
    """The whole report as one HTML document."""
    method = report.runs[0].method if report.runs else ""
    body = [f"<h1>rpcctl bench: {escape(method)}</h1>"]
    specs: list[charts.Chart] = []
    if report.interrupted:
        body.append("<p class='warning'>Interrupted (Ctrl-C): the figures cover the calls that finished.</p>")
    if len(report.runs) > 1:
        body.append(_protocol_table(report.runs))
        chart = charts.percentile_distribution(
            "chart-protocols",
            "Latency by percentile, per protocol",
            [(run.protocol, run.result.stats) for run in report.runs],
        )
        specs.append(chart)
        body.append(charts.figure(chart))
    for index, run in enumerate(report.runs):
        body.append(_run(run, f"chart-{index}", specs))
    css, scripts = charts.page_assets(specs)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>rpcctl bench report: {escape(method)}</title>"
        f"<style>{css}\n{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + f"\n<noscript><p>The charts need JavaScript.</p></noscript>\n{scripts}\n</body></html>\n"
    )


def _table(header: list[str], rows: list[list[str]], css: str = "") -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    klass = f" class='{css}'" if css else ""
    return f"<table{klass}><tr>{head}</tr>{body}</table>"


def _about(run: RunReport) -> str:
    """What was measured, and how: enough to run it again."""
    rows = [
        ["date (UTC)", run.started_at or "unknown"],
        ["rpcctl", run.rpcctl_version or "unknown"],
        ["protocol", run.protocol],
        ["method", run.method],
        ["targets", ", ".join(run.targets)],
    ]
    if run.parts > 1:
        rows.append(["parts merged", str(run.parts)])
    rows.extend([f"--{key.replace('_', '-')}", _option(value)] for key, value in run.options.items())
    return _table(["run", ""], rows, "about")


def _option(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _run(run: RunReport, chart_id: str, specs: list[charts.Chart]) -> str:
    stats = run.result.stats
    latency = stats.histogram.summary_ms()
    parts = [f"<h2>{escape(run.protocol)} → {escape(', '.join(run.targets))}</h2>", _about(run)]
    rows = [
        ["calls", str(stats.count)],
        ["duration (s)", f"{stats.elapsed:.3f}"],
        ["calls/s", f"{stats.rps:.1f}"],
        ["errors", f"{stats.errors} ({stats.error_rate:.2%})"],
        ["late calls", str(stats.late)],
        ["warmup calls (not counted)", str(run.result.warmup_calls)],
    ]
    if run.result.interrupted:
        rows.append(["interrupted", "yes (Ctrl-C; calls in flight then are not counted)"])
    parts.append(_table(["", "value"], rows))
    parts.append(_table(["latency (ms)", *latency], [["", *(f"{v:.3f}" for v in latency.values())]]))
    named = [(run.protocol, stats)]
    if len(run.result.backends) > 1:
        named = list(run.result.backends.items())
    run_charts = [
        charts.latency_histogram(f"{chart_id}-histogram", stats),
        charts.throughput(f"{chart_id}-throughput", stats),
        charts.percentile_distribution(
            f"{chart_id}-percentiles",
            "Latency by percentile" + (", per backend" if len(named) > 1 else ""),
            named,
        ),
    ]
    specs.extend(run_charts)
    parts.extend(charts.figure(chart) for chart in run_charts)
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
    parts.extend(f"<p class='warning'>warning: {escape(w)}</p>" for w in run.result.warnings)
    return "\n".join(parts)


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
