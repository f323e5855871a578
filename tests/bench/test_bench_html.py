"""The HTML report: what it states about the run, its chart data, and its charts drawn in Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rpcctl import __version__
from rpcctl.bench.render.charts import throughput_points
from rpcctl.bench.stats import Stats
from tests.bench.conftest import SCHEMA
from tests.bench.helpers import bench

CHROMIUM_TIMEOUT = 120.0
# Run in the page after the report's scripts: per canvas, how many pixels are painted, and the axis
# titles of each uPlot chart (they are drawn on the canvas, so the DOM alone cannot show them).
PROBE = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var painted = Array.prototype.map.call(document.querySelectorAll("canvas"), function (c) {
      var d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data, n = 0;
      for (var i = 3; i < d.length; i += 4) { if (d[i] !== 0) { n++; } }
      return n;
    });
    var charts = (window.rpcctlCharts || []).map(function (u) {
      return {id: u.root.parentNode.id, axes: u.axes.map(function (a) { return a.label; }),
              series: u.series.slice(1).map(function (s) { return s.label; })};
    });
    var out = document.createElement("pre");
    out.id = "probe";
    out.textContent = JSON.stringify({painted: painted, charts: charts});
    document.body.appendChild(out);
  }, 200);
});
</script>
"""


def _report(url: str, tmp_path: Path, *args: str) -> tuple[str, str]:
    out = tmp_path / "report.html"
    result = bench(
        url, "Echo", "--workers", "1", *SCHEMA, "-n", "60", "-c", "4", "-O", "html", "-o", str(out), *args,
        grpc_defaults=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return out.read_text(encoding="utf-8"), result.stderr


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed here (apt-get install -y chromium)")
    return found


def _drawn(html: str, tmp_path: Path) -> dict[str, Any]:
    page = tmp_path / "probed.html"
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    command = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
        "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, stdin=subprocess.DEVNULL
    )
    found = re.search(r"<pre id=\"probe\">(.*?)</pre>", done.stdout, re.S)
    assert found, f"the page's scripts did not run (exit {done.returncode}): {done.stderr[-2000:]}"
    return dict(json.loads(found[1].replace("&quot;", '"').replace("&amp;", "&")))


def test_html_report_states_the_run(rpcctl_server: str, tmp_path: Path) -> None:
    html, err = _report(rpcctl_server, tmp_path, "--protocol", "connect", "--rps", "500")
    assert f"wrote the html report of 60 calls to {tmp_path / 'report.html'}" in err
    about = html.split("<table class='about'>", 1)[1].split("</table>", 1)[0]
    assert re.search(r"<td>date \(UTC\)</td><td>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00</td>", about)
    assert f"<td>rpcctl</td><td>{__version__}</td>" in about
    assert "<td>protocol</td><td>connect</td>" in about
    assert "<td>method</td><td>rpcctl.test.v1.TestService/Echo</td>" in about
    assert f"<td>targets</td><td>{rpcctl_server}</td>" in about
    for option, value in (("concurrency", "4"), ("total", "60"), ("rps", "500"), ("workers", "1"),
                          ("load-schedule", "const"), ("connections", "1"), ("timeout", "20s"),
                          ("codec", "json")):  # fmt: skip
        assert f"<td>--{option}</td><td>{value}</td>" in about
    assert "https://" not in html.replace("https://github.com/leeoniya/uPlot", "")  # nothing to fetch


def test_html_charts_are_drawn_in_chromium(rpcctl_server: str, tmp_path: Path) -> None:
    html, _ = _report(rpcctl_server, tmp_path, "--protocol", "grpc,connect")
    drawn = _drawn(html, tmp_path)
    charts = {chart["id"]: chart for chart in drawn["charts"]}
    # One overlaid percentile chart for the two protocols, three charts for each run.
    assert set(charts) == {"chart-protocols"} | {
        f"chart-{run}-{kind}" for run in (0, 1) for kind in ("histogram", "throughput", "percentiles")
    }
    assert charts["chart-protocols"]["series"] == ["grpc", "connect"]
    assert charts["chart-protocols"]["axes"] == ["percentile (log scale of 1/(1-p))", "latency (ms)"]
    assert charts["chart-0-histogram"]["axes"] == ["latency (ms, bucket upper bound)", "calls"]
    assert charts["chart-1-throughput"]["axes"] == ["time since the start (s)", "rate (calls/s)"]
    assert len(drawn["painted"]) == len(charts)
    assert all(pixels > 1000 for pixels in drawn["painted"]), drawn["painted"]


def _stats(timeline: dict[int, list[int]], elapsed: float) -> Stats:
    stats = Stats()
    stats.timeline = timeline
    stats.elapsed = elapsed
    return stats


def test_throughput_drops_a_short_last_second() -> None:
    xs, calls, errors = throughput_points(_stats({0: [100, 0], 1: [98, 2], 2: [10, 0]}, 2.2))
    assert (xs, calls, errors) == ([1.0, 2.0], [100.0, 98.0], [0.0, 2.0])


def test_throughput_scales_a_long_last_second_and_fills_gaps() -> None:
    xs, calls, _ = throughput_points(_stats({0: [100, 0], 2: [60, 0]}, 2.75))
    assert xs == [1.0, 2.0, 2.75]
    assert calls == [100.0, 0.0, 80.0]


def test_throughput_of_a_run_shorter_than_a_second_is_scaled() -> None:
    xs, calls, _ = throughput_points(_stats({0: [30, 0]}, 0.2))
    assert xs == [0.2]
    assert calls == [150.0]


def _chart_specs(html: str) -> dict[str, Any]:
    found = re.search(r"<script type='application/json' id='rpcctl-charts'>(.*?)</script>", html, re.S)
    assert found
    return {chart["id"]: chart for chart in json.loads(found[1].replace("<\\/", "</"))}


def test_several_backends_overlay_their_percentiles() -> None:
    from rpcctl.bench.job import PartResult
    from rpcctl.bench.render.html_report import render_html
    from rpcctl.bench.report import BenchReport, RunReport

    def record(*latencies: float) -> Stats:
        stats = Stats()
        for latency in latencies:
            stats.record(latency, 0)
        stats.elapsed = 0.5
        return stats

    backends = {"a:1": record(0.001, 0.002), "b:2": record(0.010, 0.020)}
    result = PartResult(record(0.001, 0.002, 0.010, 0.020), backends)
    run = RunReport(
        "grpc", "pkg.S/M", ["a:1", "b:2"], result, {"concurrency": 2}, "2026-01-02T03:04:05+00:00"
    )
    charts = _chart_specs(render_html(BenchReport([run])))
    overlay = charts["chart-0-percentiles"]
    assert overlay["title"] == "Latency by percentile, per backend"
    assert [s["label"] for s in overlay["series"]] == ["a:1", "b:2"]
    assert overlay["series"][0]["values"][0] == pytest.approx(1.0, rel=0.01)  # p50 of a:1, in ms
    assert overlay["series"][1]["values"][-1] == pytest.approx(20.0, rel=0.01)  # p99.99 of b:2
    assert [t[1] for t in overlay["x"]["ticks"]] == ["50%", "90%", "99%", "99.9%", "99.99%"]
    assert charts["chart-0-throughput"]["series"][0]["values"] == [8.0]  # 4 calls in 0.5 s
