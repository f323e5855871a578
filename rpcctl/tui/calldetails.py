"""What the call inspector shows for one call: method, protocol, peer, status, timings,
headers, trailers, details, and the request and response messages as JSON.

Plain Python (rich Text), tested without Textual; `screens/call.py` shows it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from rich.text import Text

from rpcctl.proxy.redact import Redactor
from rpcctl.runner.callstats import CallRecord

MAX_JSON_CHARS = 20_000
"""Characters of one message's JSON shown; the rest is cut with a note."""


def _json(value: Any) -> str:
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > MAX_JSON_CHARS:
        text = text[:MAX_JSON_CHARS] + f"\n… {len(text) - MAX_JSON_CHARS} more characters"
    return text


def _pairs_of(pairs: list[list[Any]]) -> list[tuple[str, str]]:
    return [(str(name), str(value)) for name, value in pairs]


def _section(text: Text, title: str) -> None:
    text.append(f"\n{title}\n", "bold underline")


def _pairs(text: Text, pairs: list[tuple[str, str]]) -> None:
    if not pairs:
        text.append("(none)\n", "dim")
    for name, value in pairs:
        text.append(f"{name}: ", "bold")
        text.append(f"{value}\n")


def call_details(record: CallRecord, redactor: Redactor | None = None, since: float | None = None) -> Text:
    """The inspector's text for `record`, its credentials replaced by `redactor` when given;
    its start time counted from `since` (the first call's, same clock) when given."""
    if redactor is not None:
        record = replace(
            record,
            headers=_pairs_of(redactor.headers(record.headers)),
            response_headers=_pairs_of(redactor.headers(record.response_headers)),
            trailers=_pairs_of(redactor.headers(record.trailers)),
            requests=[redactor.message(m) for m in record.requests],
            responses=[redactor.message(m) for m in record.responses],
            message=redactor.text(record.message),
            details=[redactor.message(d) for d in record.details],
        )
    text = Text()
    text.append(record.path or record.method, "bold")
    text.append("\n")
    status_style = "bold red" if record.code else "bold green"
    facts = [
        ("protocol", record.protocol + (f" ({record.codec})" if record.codec else "")),
        ("peer", record.peer or "(unknown)"),
        ("call id", record.call_id),
    ]
    for name, value in facts:
        text.append(f"{name}: ", "bold")
        text.append(f"{value}\n")
    text.append("status: ", "bold")
    text.append(record.status, status_style)
    if record.message:
        text.append(f" — {record.message}")
    text.append("\n")
    if record.note:
        text.append("ack: ", "bold")
        text.append(
            f"{record.note} (the server answered another ack_index than index + len(rows))\n", "bold yellow"
        )
    text.append("timings: ", "bold")
    latency = "running" if record.latency is None else f"{record.latency * 1000:.1f} ms"
    if since is None:
        text.append(f"started at t={record.started:.3f} s, took {latency}\n")
    else:
        text.append(f"started {record.started - since:.3f} s after the first call seen, took {latency}\n")
    _section(text, "request headers")
    _pairs(text, record.headers)
    for title, messages in (("request", record.requests), ("response", record.responses)):
        _section(text, title if len(messages) <= 1 else f"{title} ({len(messages)} messages)")
        if not messages:
            text.append("(none)\n", "dim")
        for message in messages:
            text.append(_json(message) + "\n")
    _section(text, "response headers")
    _pairs(text, record.response_headers)
    _section(text, "trailers")
    _pairs(text, record.trailers)
    if record.details:
        _section(text, "error details")
        for detail in record.details:
            text.append(_json(detail) + "\n")
    return text
