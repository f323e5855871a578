"""Helpers for tests that drive external tools (grpcurl, buf curl, the interop peers)."""

from __future__ import annotations

import json
import os
from typing import Any, NoReturn

import pytest


def in_ci() -> bool:
    """Whether CI=true (or 1, yes) is set."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """Skip locally, fail in CI: a tool that CI cannot find or start is a broken CI setup."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def json_docs(text: str) -> list[Any]:
    """Every JSON document in ``text``, one after the other (as grpcurl and buf curl print them)."""
    decoder, docs, rest = json.JSONDecoder(), [], text.strip()
    while rest:
        doc, end = decoder.raw_decode(rest)
        docs.append(doc)
        rest = rest[end:].lstrip()
    return docs
