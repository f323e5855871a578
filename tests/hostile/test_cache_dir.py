"""The schema cache directory under attack: a symlink, a directory others may write to, an entry
that is a symlink. Entries there are ignored (a planted schema is never used), nothing is written
there, and the directory's mode is left alone (RPCCTL_CACHE_DIR=/tmp must not turn /tmp 0700)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rpcctl.schema.cache import REFLECTION_SUBDIR, ReflectedEntry, ReflectionCache, SchemaCache, clear

KEY = "k" * 64
ENTRY = ReflectedEntry(
    b"", ("planted.Service",), (), "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
)


def _plant(directory: Path) -> None:
    """A valid reflected entry and a compiled one, written by someone else."""
    writer = ReflectionCache(directory, max_age=600)
    writer.put(KEY, ENTRY)
    SchemaCache(directory).put(KEY, b"", ())
    assert writer.get(KEY) == ENTRY  # readable while the directory is still private


def _listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def _untrusted(directory: Path) -> None:
    """`directory` as the cache: nothing read, nothing written, nothing removed."""
    before = _listing(directory)
    reflected, compiled = ReflectionCache(directory, max_age=600), SchemaCache(directory)
    assert reflected.get(KEY) is None
    assert compiled.get(KEY) is None
    reflected.put("n" * 64, ENTRY)
    compiled.put("n" * 64, b"", ())
    assert clear(directory) == 0
    assert _listing(directory) == before


def test_a_cache_dir_that_is_a_symlink_is_ignored(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    _plant(real)
    link = tmp_path / "cache"
    link.symlink_to(real)
    _untrusted(link)


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770])
def test_a_cache_dir_others_may_write_to_is_ignored_and_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)
    _plant(shared)
    os.chmod(shared, mode)
    _untrusted(shared)
    assert shared.stat().st_mode & 0o7777 == mode


def test_a_reflection_subdir_that_is_a_symlink_is_ignored(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    _plant(real)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    (cache / REFLECTION_SUBDIR).symlink_to(real / REFLECTION_SUBDIR)
    assert ReflectionCache(cache, max_age=600).get(KEY) is None
    ReflectionCache(cache, max_age=600).put("n" * 64, ENTRY)
    assert not (real / REFLECTION_SUBDIR / ("n" * 64 + ".json")).exists()


def test_an_entry_that_is_a_symlink_is_ignored(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    _plant(real)
    cache = tmp_path / "cache"
    (cache / REFLECTION_SUBDIR).mkdir(parents=True, mode=0o700)
    os.chmod(cache, 0o700)
    (cache / REFLECTION_SUBDIR / f"{KEY}.json").symlink_to(real / REFLECTION_SUBDIR / f"{KEY}.json")
    (cache / f"{KEY}.json").symlink_to(real / f"{KEY}.json")
    assert ReflectionCache(cache, max_age=600).get(KEY) is None
    assert SchemaCache(cache).get(KEY) is None


def test_a_private_cache_dir_still_works(tmp_path: Path) -> None:
    cache = tmp_path / "new" / "cache"
    ReflectionCache(cache, max_age=600).put(KEY, ENTRY)
    assert ReflectionCache(cache, max_age=600).get(KEY) == ENTRY
    assert cache.stat().st_mode & 0o777 == 0o700
