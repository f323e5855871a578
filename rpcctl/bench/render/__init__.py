"""Report formats: `summary` (text), `json`, `csv` and `html`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rpcctl.bench.report import BenchReport

FORMATS = ("summary", "json", "csv", "html")


def render(report: BenchReport, fmt: str) -> str:
    """The report in format `fmt` (one of `FORMATS`)."""
    if fmt == "json":
        return report.to_json()
    if fmt == "csv":
        from rpcctl.bench.render.csv_report import render_csv

        return render_csv(report)
    if fmt == "html":
        from rpcctl.bench.render.html_report import render_html

        return render_html(report)
    from rpcctl.bench.render.summary import render_summary

    return render_summary(report)
