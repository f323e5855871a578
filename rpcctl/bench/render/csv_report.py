"""The CSV report: one row per run and per backend, latency columns in milliseconds."""

from __future__ import annotations

import csv
import io

from rpcctl.bench.histogram import PERCENTILES
from rpcctl.bench.report import BenchReport
from rpcctl.bench.stats import Stats

LATENCY_COLUMNS = ["min", "mean", *(f"p{p:g}" for p in PERCENTILES), "max"]
COLUMNS = [
    "protocol", "method", "backend", "count", "ok", "errors", "error_rate", "late", "elapsed_s", "rps",
    *(f"{name}_ms" for name in LATENCY_COLUMNS),
]  # fmt: skip


def render_csv(report: BenchReport) -> str:
    """The report as CSV with a header row; backend `*` is the whole run."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for run in report.runs:
        writer.writerow(_row(run.protocol, run.method, "*", run.result.stats))
        for name, stats in run.result.backends.items():
            writer.writerow(_row(run.protocol, run.method, name, stats))
    return out.getvalue()


def _row(protocol: str, method: str, backend: str, stats: Stats) -> list[str]:
    latency = stats.histogram.summary_ms()
    return [
        protocol, method, backend, str(stats.count), str(stats.ok), str(stats.errors),
        f"{stats.error_rate:.6f}", str(stats.late), f"{stats.elapsed:.6f}", f"{stats.rps:.3f}",
        *(f"{latency[name]:.3f}" for name in LATENCY_COLUMNS),
    ]  # fmt: skip
