"""The reflected-schema cache: keys, age limit, private files, `rpcctl cache clear`."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from rpcctl.errors import UsageError
from rpcctl.schema.cache import (
    REFLECTION_SUBDIR,
    ReflectedEntry,
    ReflectionCache,
    SchemaCache,
    clear,
    reflection_key,
    reflection_max_age,
)
from tests.support.cli import run_cli

ENTRY = ReflectedEntry(b"\x0a\x03a.b", ("pkg.Svc",), (("pkg.Bad", "why"),), "/grpc.reflection.v1.X/Y")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_entry_comes_back_until_it_is_too_old(cache_dir: Path) -> None:
    key = reflection_key("t", [("authorization", "a")])
    ReflectionCache().put(key, ENTRY)
    assert ReflectionCache().get(key) == ENTRY
    assert ReflectionCache(max_age=0).get(key) is None


def test_keys_differ_by_target_and_reflection_headers() -> None:
    base = reflection_key("http://a:1", [])
    assert base != reflection_key("http://a:2", [])
    assert base != reflection_key("http://a:1", [("x-tenant", "b")])
    assert reflection_key("t", [("a", "1"), ("b", "2")]) == reflection_key("t", [("b", "2"), ("a", "1")])


def test_files_are_private(cache_dir: Path) -> None:
    ReflectionCache().put("k", ENTRY)
    SchemaCache().put("c", b"x", [])
    folder = cache_dir / REFLECTION_SUBDIR
    assert _mode(cache_dir) == 0o700
    assert _mode(folder) == 0o700
    assert _mode(folder / "k.json") == 0o600
    assert _mode(cache_dir / "c.json") == 0o600


def test_the_headers_are_not_written(cache_dir: Path) -> None:
    key = reflection_key("t", [("authorization", "Bearer s3cr3t")])
    ReflectionCache().put(key, ENTRY)
    assert "s3cr3t" not in (cache_dir / REFLECTION_SUBDIR / f"{key}.json").read_text()


def test_corrupt_or_future_entries_are_misses(cache_dir: Path) -> None:
    cache = ReflectionCache()
    cache.put("k", ENTRY)
    path = cache_dir / REFLECTION_SUBDIR / "k.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "written": record["written"] + 3600}))
    assert cache.get("k") is None
    path.write_text("{not json")
    assert cache.get("k") is None


def test_clear_removes_both_kinds(cache_dir: Path) -> None:
    ReflectionCache().put("k", ENTRY)
    SchemaCache().put("c", b"x", [])
    assert clear() == 2
    assert ReflectionCache().get("k") is None


def test_cache_clear_command(cache_dir: Path) -> None:
    ReflectionCache().put("k", ENTRY)
    result = run_cli("cache", "clear")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"removed 1 cached schema file from {cache_dir}\n"
    assert ReflectionCache().get("k") is None
    located = run_cli("cache", "dir")
    assert located.stdout == f"{cache_dir}\n"


def test_the_age_limit_is_ten_minutes_unless_rpcctl_cache_ttl_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RPCCTL_CACHE_TTL", raising=False)
    assert reflection_max_age() == 600
    for text, seconds in (("90s", 90), ("1h", 3600), ("0", 0), (" 2m ", 120)):
        monkeypatch.setenv("RPCCTL_CACHE_TTL", text)
        assert reflection_max_age() == seconds
        assert ReflectionCache().max_age == seconds


def test_a_zero_ttl_reuses_nothing(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RPCCTL_CACHE_TTL", "0")
    ReflectionCache().put("k", ENTRY)
    assert ReflectionCache().get("k") is None


def test_a_bad_ttl_is_bad_input_that_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RPCCTL_CACHE_TTL", "ten minutes")
    with pytest.raises(UsageError, match=r"^\$RPCCTL_CACHE_TTL: invalid duration 'ten minutes'"):
        reflection_max_age()
