"""Where schemas come from: .proto files (compiled in-process), protosets, the bundled files."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from google.protobuf.message import DecodeError

from rpcctl.errors import SchemaError

# protoc writes diagnostics to the process-wide fd 2; only one compilation may capture it.
_PROTOC_LOCK = threading.Lock()


def _wkt_include() -> Path:
    """The directory of the well-known .proto files shipped with grpcio-tools."""
    import grpc_tools

    return Path(grpc_tools.__file__).parent / "_proto"


def _run_protoc(files: Sequence[Path], include_paths: Sequence[Path]) -> bytes:
    """Compile with grpc_tools' protoc into a FileDescriptorSet (imports and source info)."""
    import tempfile  # ~1 ms (random, hashlib): only a .proto compile needs it

    from grpc_tools import protoc

    with tempfile.TemporaryDirectory(prefix="rpcctl-protoc-") as tmp:
        out = Path(tmp) / "set.pb"
        args = [
            "protoc",
            "--include_imports",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            *(f"--proto_path={p}" for p in include_paths),
            *(str(f) for f in files),
        ]
        with _PROTOC_LOCK, tempfile.TemporaryFile() as err:
            sys.stderr.flush()
            saved = os.dup(2)
            try:
                os.dup2(err.fileno(), 2)
                status = protoc.main(args)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            err.seek(0)
            diagnostics = _without_absl_log(err.read().decode("utf-8", errors="replace")).strip()
        if status != 0:
            raise SchemaError(diagnostics or f"protoc failed with status {status}")
        try:
            return out.read_bytes()
        except OSError as exc:
            raise SchemaError(f"protoc wrote no descriptor set: {exc}") from exc


# protoc's C++ logging (absl) on stderr: its preamble and its prefixed lines say nothing the
# compile errors do not, in a form no user should have to read.
_ABSL_LINE = (
    r"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called.*"
    r"|[WIEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*)$\n?"
)


def _without_absl_log(text: str) -> str:
    return re.sub(_ABSL_LINE, "", text, flags=re.MULTILINE)


def parse_protoset(data: bytes, origin: str) -> list[FileDescriptorProto]:
    """The files of a serialized FileDescriptorSet; SchemaError naming `origin` if it is not one."""
    fds = descriptor_pb2.FileDescriptorSet()
    try:
        fds.ParseFromString(data)
    except (DecodeError, ValueError) as exc:
        raise SchemaError(f"{origin} is not a FileDescriptorSet") from exc
    if not fds.file or any(not fd.name for fd in fds.file):
        raise SchemaError(f"{origin} is not a FileDescriptorSet")
    return list(fds.file)


def _locate(name: str, search: Sequence[Path]) -> Path | None:
    for root in search:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def _read_input(file: Path, roots: Sequence[Path]) -> bytes:
    candidates = [file]
    if not file.is_absolute() and not file.exists():
        candidates += [root / file for root in roots]
    for candidate in candidates:
        try:
            return candidate.read_bytes()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise SchemaError(f"{file}: cannot read: {exc.strerror or exc}") from exc
    raise SchemaError(f"{file}: no such file")


def load_proto_files(files: Sequence[Path], import_paths: Sequence[Path] = ()) -> list[FileDescriptorProto]:
    """Compile .proto files (and their imports) into file descriptors, using the cache."""
    if not files:
        raise SchemaError("no .proto files given")
    files = [Path(f) for f in files]
    roots = [Path(p) for p in import_paths]
    for root in roots:
        if not root.is_dir():
            raise SchemaError(f"{root}: import path is not a directory")
    # Like protoc, a file that is not on disk as given is looked up in the import paths.
    contents = [_read_input(f, roots) for f in files]
    if not roots:
        roots = list(dict.fromkeys(f.parent for f in files))
    search = [*roots, _wkt_include()]

    from rpcctl.schema.cache import SchemaCache, cache_key, file_digest  # not for a protoset

    cache = SchemaCache()
    # Absolute paths: the same relative names mean other files from another directory.
    key = cache_key([f.absolute() for f in files], [r.absolute() for r in roots], contents)
    entry = cache.get(key)
    if entry is not None:
        try:
            return parse_protoset(entry.protoset, "cached schema")
        except SchemaError:
            pass  # a corrupt entry is rebuilt below
    data = _run_protoc(files, search)
    parsed = parse_protoset(data, "protoc output")
    imports: list[tuple[str, str]] = []
    for fd in parsed:
        found = _locate(fd.name, search)
        digest = file_digest(found) if found is not None else None
        if found is not None and digest is not None:
            imports.append((str(found.resolve()), digest))
    cache.put(key, data, imports)
    return parsed


def load_protoset(path: Path) -> list[FileDescriptorProto]:
    """Read a serialized FileDescriptorSet (protoc --descriptor_set_out, buf build -o)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise SchemaError(f"{path}: no such file") from exc
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse_protoset(data, str(path))


def bundled_dir() -> Path:
    """The bundled descriptors: rpcctl/_descriptors in a wheel, <repo>/descriptors in a checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_descriptors"
    if installed.is_dir():
        return installed
    return package.parent / "descriptors"


def bundled_files() -> list[FileDescriptorProto]:
    """Compile the .proto files bundled with rpcctl."""
    root = bundled_dir()
    protos = sorted(root.rglob("*.proto"))
    if not protos:
        raise SchemaError(f"no bundled .proto files in {root}")
    return load_proto_files(protos, [root])
