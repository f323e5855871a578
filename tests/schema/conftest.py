"""Fixtures of the schema tests: a private cache directory and the compiled test schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcctl.schema.registry import Schema
from tests.support.schema import compile_test_schema


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test compiles into its own cache directory."""
    path = tmp_path / "cache"
    monkeypatch.setenv("RPCCTL_CACHE_DIR", str(path))
    yield path


@pytest.fixture
def schema() -> Schema:
    """The compiled tests/protos test schema."""
    return compile_test_schema()
