"""On-disk cache of compiled schemas, keyed by the content of every file protoc read.

An entry is looked up by a key over the input files, the import paths and the tool
versions. It records the imports that the compilation read (path and sha256); the
entry is a hit only while every one of them still has the same content.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "RPCCTL_CACHE_DIR"
_FORMAT = 1


def cache_dir() -> Path:
    """The directory of compiled schemas: $RPCCTL_CACHE_DIR or the user cache dir."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("rpcctl")) / "schemas"


def file_digest(path: Path) -> str | None:
    """The sha256 of a file's content, or None if it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _versions() -> list[str]:
    from google.protobuf import __version__ as protobuf_version

    import rpcctl

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
            raw = json.loads(self._path(key).read_text("utf-8"))
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
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        except OSError:
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(record, out)
            os.replace(tmp, self._path(key))
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
