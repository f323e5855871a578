"""The text summary: counts, latency percentiles, a histogram in bars, codes, errors, tables."""

from __future__ import annotations

from rpcctl.bench.report import BenchReport, RunReport
from rpcctl.bench.stats import Stats

BAR_WIDTH = 40
TOP_ERRORS = 10
BAR = "■"


def render_summary(report: BenchReport) -> str:
    """The whole report as text."""
    blocks = [_run(run) for run in report.runs]
    if len(report.runs) > 1:
        blocks.append(_protocol_table(report.runs))
    return "\n".join(blocks)


def _run(run: RunReport) -> str:
    stats = run.result.stats
    lines = [f"Summary ({run.protocol}, {run.method} → {', '.join(run.targets)}):"]
    lines.append(f"  Count:        {stats.count}")
    lines.append(f"  Duration:     {stats.elapsed:.3f} s")
    lines.append(f"  Calls/sec:    {stats.rps:.1f}")
    lines.append(f"  Errors:       {stats.errors} ({stats.error_rate:.2%})")
    if run.result.interrupted:
        lines.append("  Interrupted:  yes (Ctrl-C; calls in flight then are not counted)")
    if run.options.get("rps") or run.options.get("load_schedule", "const") != "const":
        lines.append(f"  Late calls:   {stats.late}")
    if run.result.warmup_calls:
        lines.append(f"  Warmup calls: {run.result.warmup_calls} (not counted)")
    if stats.responses:
        lines.append(f"  Responses:    {stats.responses} (stream messages)")
    if run.parts > 1:
        lines.append(f"  Parts merged: {run.parts}")
    lines.append("")
    lines.append("Latency (ms):")
    summary = stats.histogram.summary_ms()
    names = list(summary)
    lines.append("  " + "".join(f"{name:>9}" for name in names))
    lines.append("  " + "".join(f"{summary[name]:>9.3f}" for name in names))
    lines.append("")
    lines.extend(_histogram(stats))
    lines.append("Status code distribution:")
    for code, count in stats.code_counts().items():
        lines.append(f"  [{code}]  {count} calls")
    if stats.messages:
        lines.append("")
        lines.append(f"Error distribution (top {TOP_ERRORS}):")
        for message, count in stats.messages.most_common(TOP_ERRORS):
            lines.append(f"  [{count}]  {message}")
    if run.scenario:
        lines.append("")
        lines.append("Runner scenario:")
        lines.extend(
            f"  {key.replace('_', ' ')}: {value}" for key, value in run.scenario.items() if value != ""
        )
    if run.result.backends:
        lines.append("")
        lines.extend(_backend_table(run.result.backends, "method" if run.scenario else "backend"))
    for warning in run.result.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"


def _histogram(stats: Stats) -> list[str]:
    buckets = stats.histogram.buckets_ms()
    if not buckets:
        return []
    top = max(count for _, count in buckets) or 1
    lines = ["Latency histogram (ms):"]
    for bound, count in buckets:
        bar = BAR * round(BAR_WIDTH * count / top)
        lines.append(f"  {bound:>10.3f} [{count:>7}] |{bar}")
    lines.append("")
    return lines


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)
        ]
        out.append("  " + "  ".join(cells))
    return out


def _backend_table(backends: dict[str, Stats], what: str = "backend") -> list[str]:
    rows = []
    for name, stats in backends.items():
        latency = stats.histogram.summary_ms()
        rows.append(
            [name, str(stats.count), str(stats.errors), f"{latency['mean']:.3f}", f"{latency['p50']:.3f}",
             f"{latency['p99']:.3f}"]
        )  # fmt: skip
    return [f"Per {what}:", *_table([what, "calls", "errors", "mean ms", "p50 ms", "p99 ms"], rows)]


def _protocol_table(runs: list[RunReport]) -> str:
    metrics: list[tuple[str, list[str]]] = []
    stats = [run.result.stats for run in runs]
    latency = [s.histogram.summary_ms() for s in stats]
    metrics.append(("calls", [str(s.count) for s in stats]))
    metrics.append(("calls/s", [f"{s.rps:.1f}" for s in stats]))
    metrics.append(("errors", [str(s.errors) for s in stats]))
    for key in ("mean", "p50", "p90", "p99", "p99.9", "max"):
        metrics.append((f"{key} ms", [f"{lat[key]:.3f}" for lat in latency]))
    header = ["", *(run.protocol for run in runs)]
    rows = [[name, *values] for name, values in metrics]
    return "\n".join(["Per protocol:", *_table(header, rows)]) + "\n"
