"""On-disk caches: compiled schemas (by content) and reflected ones (per target).

A compiled entry is looked up by a key over the input files, the import paths and the tool
versions. It records the imports that the compilation read (path and sha256); the
entry is a hit only while every one of them still has the same content.

A reflected entry is looked up by the target and the headers sent with reflection; it is a
hit for `reflection_max_age()` seconds after it was written: $RPCCTL_CACHE_TTL, a duration
(`90s`, `1h`; `0` reuses nothing), else 10 minutes. Both live under `cache_dir()`, a
directory only its owner may read (0700; files 0600): schemas can be private. A cache
directory that is a symlink, belongs to another user or that others may write to is ignored
(`trusted_dir`), and so is an entry that is a symlink.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "RPCCTL_CACHE_DIR"
TTL_ENV = "RPCCTL_CACHE_TTL"
_FORMAT = 1
#: Seconds a reflected schema is reused before the server is asked again, unless $RPCCTL_CACHE_TTL says.
REFLECTION_MAX_AGE = 600.0
REFLECTION_SUBDIR = "reflection"


def cache_dir() -> Path:
    """The directory of compiled schemas: $RPCCTL_CACHE_DIR or the user cache dir."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("rpcctl")) / "schemas"


def reflection_max_age() -> float:
    """Seconds a reflected schema is reused: $RPCCTL_CACHE_TTL (a duration such as `90s`, `10m`,
    `1h`; `0` reuses nothing) or `REFLECTION_MAX_AGE`. `UsageError` naming the variable for a
    value that is no duration."""
    text = os.environ.get(TTL_ENV, "").strip()
    if not text:
        return REFLECTION_MAX_AGE
    from rpcctl.wire.timeout import parse_duration

    return parse_duration(text, f"${TTL_ENV}")


def trusted_dir(path: Path) -> bool:
    """Whether `path` may hold cache entries: absent (it is created 0700 when written), or a real
    directory, no symlink, owned by this user, that neither group nor others may write to.

    Anything else is ignored, neither read nor written nor chmod-ed: entries in a directory
    others can write to may be planted (a schema that lies), and a symlink may lead anywhere.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    owner = os.getuid() if hasattr(os, "getuid") else info.st_uid
    return stat.S_ISDIR(info.st_mode) and info.st_uid == owner and not info.st_mode & 0o022


def private_dir(path: Path) -> None:
    """Create `path` (and parents) and make it readable by its owner only (0700).

    `OSError` when `path` is not a `trusted_dir` (before or after creating it)."""
    if not trusted_dir(path):
        raise PermissionError(f"{path} is a symlink, not ours, or writable by others")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not trusted_dir(path):  # created by someone else in between
        raise PermissionError(f"{path} is a symlink, not ours, or writable by others")
    os.chmod(path, 0o700)


def read_entry(directory: Path, name: str, *roots: Path) -> str | None:
    """The text of directory/name, or None when it is missing, a symlink, unreadable, or when
    `directory` or any of `roots` (the directories above it) is not a `trusted_dir`."""
    if not all(trusted_dir(folder) for folder in (*roots, directory)):
        return None
    try:
        fd = os.open(directory / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, encoding="utf-8") as entry:
            return entry.read()
    except (OSError, ValueError):
        return None


def write_private(directory: Path, name: str, record: object, *roots: Path) -> None:
    """Write `record` as JSON to directory/name atomically, mode 0600; failing is never an error.

    `roots` are the directories above `directory` that are made private too; nothing is
    written where one of them is not a `trusted_dir`."""
    import tempfile  # ~1 ms: a call with a cached or given schema writes nothing

    try:
        for folder in (*roots, directory):
            private_dir(folder)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(tmp, directory / name)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def clear(directory: Path | None = None) -> int:
    """Remove every cache entry (compiled and reflected); the number of files removed."""
    root = directory if directory is not None else cache_dir()
    removed = 0
    for folder in (root, root / REFLECTION_SUBDIR):
        if not (trusted_dir(root) and trusted_dir(folder)):
            continue
        try:
            entries = list(folder.glob("*.json")) + list(folder.glob(".tmp-*"))
        except OSError:
            continue
        for entry in entries:
            with contextlib.suppress(OSError):
                entry.unlink()
                removed += 1
    return removed


def file_digest(path: Path) -> str | None:
    """The sha256 of a file's content, or None if it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _versions(compiler: bool = True) -> list[str]:
    """rpcctl's and protobuf's versions, and with `compiler` grpcio-tools' (its protoc)."""
    from google.protobuf import __version__ as protobuf_version

    import rpcctl

    if not compiler:  # importlib.metadata and its look-up: ~15 ms of a call by reflection
        return [rpcctl.__version__, protobuf_version]
    try:
        from importlib.metadata import version

        tools = version("grpcio-tools")
    except Exception:  # metadata missing in odd installs; the key just gets coarser
        tools = "?"
    return [rpcctl.__version__, protobuf_version, tools]


def cache_key(files: Sequence[Path], import_paths: Sequence[Path], contents: Sequence[bytes]) -> str:
    """The lookup key of one compilation."""
    digest = hashlib.sha256()
    record = {
        "format": _FORMAT,
        "files": [str(f) for f in files],
        "contents": [hashlib.sha256(c).hexdigest() for c in contents],
        "import_paths": [str(p) for p in import_paths],
        "versions": _versions(),
    }
    digest.update(json.dumps(record, sort_keys=True).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """A cached compilation: the FileDescriptorSet and the imports it depended on."""

    protoset: bytes
    imports: tuple[tuple[str, str], ...]  # (path, sha256)

    def is_fresh(self) -> bool:
        """True while every recorded import still has the content it had when compiled."""
        return all(file_digest(Path(path)) == digest for path, digest in self.imports)


class SchemaCache:
    """A directory of cache entries; unreadable or corrupt entries count as misses."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else cache_dir()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> CacheEntry | None:
        """The fresh entry for a key, or None."""
        try:
            raw = json.loads(read_entry(self.directory, f"{key}.json") or "null")
            if raw.get("format") != _FORMAT:
                return None
            entry = CacheEntry(
                protoset=base64.b64decode(raw["protoset"], validate=True),
                imports=tuple((str(p), str(d)) for p, d in raw["imports"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return entry if entry.is_fresh() else None

    def put(self, key: str, protoset: bytes, imports: Iterable[tuple[str, str]]) -> None:
        """Store an entry atomically; failing to write the cache is never an error."""
        record = {
            "format": _FORMAT,
            "protoset": base64.b64encode(protoset).decode(),
            "imports": [list(item) for item in imports],
        }
        write_private(self.directory, f"{key}.json", record)


@dataclass(frozen=True)
class ReflectedEntry:
    """A reflected schema: the FileDescriptorSet, the services listed, the failures, the path."""

    protoset: bytes
    services: tuple[str, ...]
    failures: tuple[tuple[str, str], ...]
    path: str


def reflection_key(target: str, headers: Iterable[tuple[str, str]]) -> str:
    """The lookup key of a target's reflected schema: the target and the reflection headers."""
    versions = _versions(compiler=False)  # reflection compiles nothing
    record = {"format": _FORMAT, "target": target, "headers": sorted(headers), "versions": versions}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


class ReflectionCache:
    """Reflected schemas per target, each reused for `max_age` seconds (`reflection_max_age()`
    when not given)."""

    def __init__(self, directory: Path | None = None, max_age: float | None = None) -> None:
        self.directory = (directory if directory is not None else cache_dir()) / REFLECTION_SUBDIR
        self.max_age = reflection_max_age() if max_age is None else max_age

    def get(self, key: str) -> ReflectedEntry | None:
        """The entry for a key if younger than `max_age`, else None (corrupt ones too)."""
        found = self._read(key)
        return None if found is None else found[0]

    def extend(self, key: str, protoset: bytes) -> None:
        """Add files (a serialized FileDescriptorSet) to an entry, keeping its age."""
        found = self._read(key)
        if found is not None:
            entry, written = found
            merged = ReflectedEntry(entry.protoset + protoset, entry.services, entry.failures, entry.path)
            self.put(key, merged, written)

    def _read(self, key: str) -> tuple[ReflectedEntry, float] | None:
        try:
            raw = json.loads(read_entry(self.directory, f"{key}.json", self.directory.parent) or "null")
            written = float(raw["written"])
            if raw.get("format") != _FORMAT or not 0 <= time.time() - written < self.max_age:
                return None
            entry = ReflectedEntry(
                protoset=base64.b64decode(raw["protoset"], validate=True),
                services=tuple(str(s) for s in raw["services"]),
                failures=tuple((str(n), str(r)) for n, r in raw["failures"]),
                path=str(raw["path"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return entry, written

    def put(self, key: str, entry: ReflectedEntry, written: float | None = None) -> None:
        """Store an entry (0600, atomically); failing to write the cache is never an error."""
        record = {
            "format": _FORMAT,
            "written": time.time() if written is None else written,
            "protoset": base64.b64encode(entry.protoset).decode(),
            "services": list(entry.services),
            "failures": [list(f) for f in entry.failures],
            "path": entry.path,
        }
        write_private(self.directory, f"{key}.json", record, self.directory.parent)
