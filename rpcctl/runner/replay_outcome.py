"""The one line the TUI's replay key reports when a replay of a task ends."""

from __future__ import annotations

from rpcctl.runner.replay import ReplaySummary


def outcome_line(tx_uuid: str, target: str, summary: ReplaySummary) -> str:
    """`replayed 6f1c2a00 onto URL in 1.2 s: ok, 11 rows, 12 calls` (or what disagreed or failed)."""
    verdict = "ok" if summary.ok else "DISAGREED" if not summary.errors else "FAILED"
    parts = [verdict, f"{summary.rows} rows", f"{summary.calls} calls"]
    for count, what in (
        (summary.rows_resent, "rows resent"),
        (summary.ack_mismatches, "ack mismatches"),
        (summary.update_failures, "UpdateTask failures"),
        (summary.errors, "errors"),
        (summary.skipped, "calls skipped"),
    ):
        if count:
            parts.append(f"{count} {what}")
    if summary.cancelled:
        parts.append("cancelled by the target")
    last_error = next((copy.last_error for copy in summary.copies if copy.last_error), "")
    if last_error:
        parts.append(f"last error: {last_error}")
    return f"replayed {tx_uuid[:8]} onto {target} in {summary.duration:.1f} s: " + ", ".join(parts)
