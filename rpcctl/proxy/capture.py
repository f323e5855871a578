"""The capture file (DESIGN.md §4): JSON Lines, append-only, one flushed line per event.

Line 1 is the header::

    {"format": "rpcctl-capture", "version": 1, "created": "2025-01-31T12:00:00.000000Z",
     "schema": "<base64 FileDescriptorSet>" | null, "redacted": true, "rpcctl": "0.1.0", ...}

Every other line is one event of one call, with ``t`` the monotonic seconds since the
capture started::

    {"t": 0.0012, "call": "c1", "event": "start", "method": "/pkg.Svc/M", "protocol": "connect",
     "codec": "proto", "headers": [["authorization", "[REDACTED]"], ...], "peer": "127.0.0.1:5123"}
    {"t": 0.0013, "call": "c1", "event": "request", "method": "/pkg.Svc/M", "message": {...}}
    {"t": 0.0020, "call": "c1", "event": "response", "method": "/pkg.Svc/M", "raw": "<base64>"}
    {"t": 0.0021, "call": "c1", "event": "end", "method": "/pkg.Svc/M", "code": 0, "status": "OK",
     "message": "", "details": [], "trailers": [], "response_headers": [], "duration": 0.0009}

``-bin`` header values are written as unpadded base64 text. Readers skip events they do not
know (a later version may add some) and fields they do not know. A crash loses at most the
last line, which readers ignore when it is incomplete.
"""

from __future__ import annotations

import base64
import datetime
import enum
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rpcctl import jsonsafe
from rpcctl.call_events import CallEvent, EventKind
from rpcctl.errors import UsageError
from rpcctl.proxy.capture_fields import event_problem, header_problem
from rpcctl.proxy.redact import Redactor
from rpcctl.wire.error_detail import ErrorDetail
from rpcctl.wire.metadata import Metadata, clip, encode_binary_value
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.call_events import Subscription
    from rpcctl.schema.registry import Schema

FORMAT = "rpcctl-capture"
VERSION = 1
HEADER_FIELDS = ("headers", "trailers", "response_headers")
MESSAGE_EVENTS = (EventKind.REQUEST, EventKind.RESPONSE)
CAPTURE_MODE = 0o600
MAX_LINE = 64 * 1024 * 1024
"""Bytes of one capture line read at most (a 4 MiB message is ~6 MB of base64): a longer line
is a bad line, skipped without being held in memory."""
_SKIP_CHUNK = 1 << 20


def _default(value: Any) -> Any:
    """JSON for the non-JSON values events may carry."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Metadata):
        return _pairs(value)
    if isinstance(value, ErrorDetail):
        return detail_to_json(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return repr(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_default)


def _line_bytes(obj: dict[str, Any]) -> bytes:
    return _ENCODER.encode(obj).encode("utf-8", "surrogatepass") + b"\n"


def _pairs(pairs: Iterable[Any]) -> list[list[str]]:
    out = []
    for name, value in pairs:
        if isinstance(value, bytes | bytearray | memoryview):
            value = encode_binary_value(bytes(value))
        out.append([str(name), str(value)])
    return out


def detail_to_json(detail: ErrorDetail, rendered: dict[str, Any] | None = None) -> dict[str, Any]:
    """A status detail as Connect writes it: type name, unpadded base64 value, optional debug JSON."""
    out: dict[str, Any] = {"type": detail.type_name, "value": encode_binary_value(detail.value)}
    if rendered is not None:
        out["debug"] = rendered
    return out


def _create_private(path: Path) -> IO[bytes]:
    """Open ``path`` for writing, created or truncated, readable by its owner only (0600).

    A capture holds headers and messages (with ``--no-redact``, bearer tokens), so the
    umask's usual 0644 is not enough; a file that already exists is narrowed too.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), CAPTURE_MODE)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, CAPTURE_MODE)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def copy_capture(source: str | Path, target: str | Path) -> None:
    """Copy a capture to ``target``, created 0600 like the capture itself (never the umask's 0644)."""
    import shutil

    with open(source, "rb") as src, _create_private(Path(target)) as dst:
        shutil.copyfileobj(src, dst)


def _utc_now() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class CaptureWriter:
    """Writes events to a capture file, one flushed line each, redacting unless told not to.

    ``redact``: True for the default rules, a `Redactor` for more (``--redact-header``,
    ``--redact-field``), False to keep everything. The file is created 0600 either way.
    """

    def __init__(
        self,
        path: str | Path,
        schema: Schema | None = None,
        redact: bool | Redactor = True,
        *,
        extra: dict[str, Any] | None = None,
    ) -> None:
        from rpcctl import __version__

        self.path = Path(path)
        self.redact = redact is not False
        self._redactor = redact if isinstance(redact, Redactor) else (Redactor() if redact else None)
        self._start = time.monotonic()
        self.events = 0
        try:
            self._file: IO[bytes] | None = _create_private(self.path)
        except OSError as exc:
            raise UsageError(f"cannot write capture {self.path}: {exc.strerror or exc}") from exc
        header: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "created": _utc_now(),
            "schema": base64.b64encode(schema.to_protoset()).decode("ascii") if schema else None,
            "redacted": self.redact,
            "rpcctl": __version__,
        }
        header.update(extra or {})
        self._write_line(header)

    def write(self, event: CallEvent) -> None:
        """Append one event and flush it to the operating system."""
        self._write_line(self.encode(event))
        self.events += 1

    def write_many(self, events: Iterable[CallEvent]) -> None:
        """Append several events in one write and one flush (each line still written whole).

        The lines go to the operating system together, so a crash can still cut only the
        last line: every earlier one is complete.
        """
        lines = [_line_bytes(self.encode(event)) for event in events]
        if not lines:
            return
        self._write_bytes(b"".join(lines))
        self.events += len(lines)

    def encode(self, event: CallEvent) -> dict[str, Any]:
        """The JSON object of one event line (redacted if this writer redacts)."""
        line: dict[str, Any] = {
            "t": round(event.time - self._start, 6),
            "call": event.call_id,
            "event": event.kind.value,
            "method": event.method,
        }
        info = dict(event.info)
        for name in HEADER_FIELDS:
            if name in info and info[name] is not None:
                pairs = _pairs(info[name])
                info[name] = self._redactor.headers(pairs) if self._redactor else pairs
        if event.kind is EventKind.END:
            code = info.get("code", 0)
            info["code"] = int(code)
            info.setdefault("status", Code.from_number(int(code)).name)
            info["details"] = [
                detail_to_json(d) if isinstance(d, ErrorDetail) else d for d in info.get("details", ())
            ]
        if event.kind in MESSAGE_EVENTS:
            info.pop("message", None)
            info.pop("raw", None)
            if event.message is not None:
                info["message"] = self._redactor.message(event.message) if self._redactor else event.message
            elif event.raw is not None:
                info["raw"] = base64.b64encode(event.raw).decode("ascii")
        for key in ("t", "call", "event", "method"):
            info.pop(key, None)
        line.update(info)
        return line

    async def record(self, subscription: Subscription) -> None:
        """Write every event of a bus subscription until cancelled, then what is still queued."""
        try:
            while True:
                first = await subscription.get()
                # What queued meanwhile goes out with it: one write and one flush per batch.
                self.write_many([first, *subscription.drain()])
        finally:
            self.write_many(subscription.drain())

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write_line(self, obj: dict[str, Any]) -> None:
        self._write_bytes(_line_bytes(obj))

    def _write_bytes(self, data: bytes) -> None:
        if self._file is None:
            raise ValueError(f"capture {self.path} is closed")
        # Whole lines per write, so a crash can cut only the line being written.
        self._file.write(data)
        self._file.flush()


@dataclass
class Capture:
    """A capture file opened for reading: its header, its schema and its events (streamed)."""

    path: Path
    header: dict[str, Any]
    _schema: Schema | None = field(default=None, repr=False)
    skip_bad_lines: bool = False
    """The default of `events`: skip lines that cannot be read instead of failing."""

    @property
    def version(self) -> int:
        """The format version of the file."""
        return int(self.header["version"])

    @property
    def redacted(self) -> bool:
        """True when credentials were redacted while recording."""
        return bool(self.header.get("redacted", True))

    @property
    def schema(self) -> Schema | None:
        """The schema embedded in the header, rebuilt (None if the capture has none)."""
        if self._schema is None and self.header.get("schema"):
            self._schema = _schema_from_header(self.path, self.header["schema"])
        return self._schema

    def events(self, *, skip_bad_lines: bool | None = None) -> Iterator[CallEvent]:
        """Every event, read line by line from the file (not held in memory); see `iter_events`."""
        skip = self.skip_bad_lines if skip_bad_lines is None else skip_bad_lines
        return iter_events(self.path, skip_bad_lines=skip)


def read_capture(path: str | Path) -> Capture:
    """Open a capture: check and read its header; `UsageError` if it is not a capture."""
    path = Path(path)
    with _open(path) as handle:
        header = _read_header(path, handle)
    return Capture(path, header)


def iter_events(
    path: str | Path, *, skip_bad_lines: bool = False, bad_lines: list[str] | None = None
) -> Iterator[CallEvent]:
    """The events of a capture in file order, streamed; an incomplete last line is skipped.

    A line that is not JSON, not an object, or has a field of the wrong type raises
    `UsageError` "PATH line N: ..."; with ``skip_bad_lines`` it is skipped instead, and its
    problem appended to ``bad_lines`` when given.
    """
    path = Path(path)
    with _open(path) as handle:
        _read_header(path, handle)
        number = 1
        for line in _lines(handle):
            number += 1
            try:
                if line is None:
                    raise UsageError(f"{path} line {number} is longer than {_mib(MAX_LINE)}")
                obj = _parse_line(path, number, line)
                event = _to_event(path, number, obj) if obj is not None else None
            except UsageError as exc:
                if not skip_bad_lines:
                    raise
                if bad_lines is not None:
                    bad_lines.append(str(exc))
                continue
            if event is not None:
                yield event


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read capture {path}: {exc.strerror or exc}") from exc


def _lines(handle: IO[bytes]) -> Iterator[bytes | None]:
    """The lines of `handle`; None for one longer than `MAX_LINE`, read past in 1 MiB pieces."""
    while True:
        line = handle.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            del line
            while True:
                rest = handle.readline(_SKIP_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield line


def _mib(size: int) -> str:
    return f"{size / (1 << 20):g} MiB"


def _read_header(path: Path, handle: IO[bytes]) -> dict[str, Any]:
    first = next(_lines(handle), b"")
    if first is None:
        raise UsageError(f"{path} is not an rpcctl capture: line 1 is longer than {_mib(MAX_LINE)}")
    if not first:
        raise UsageError(f"{path} is not an rpcctl capture: the file is empty")
    try:
        header = jsonsafe.loads(first)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise UsageError(f"{path} is not an rpcctl capture: line 1 is not a capture header")
    version = header.get("version")
    if version != VERSION or isinstance(version, bool):
        shown = clip(json.dumps(version), 40)
        raise UsageError(f"{path} is a version {shown} capture; this rpcctl reads version {VERSION}")
    problem = header_problem(header)
    if problem is not None:
        raise UsageError(f"{path} line 1: {problem}")
    return header


def _parse_line(path: Path, number: int, line: bytes) -> dict[str, Any] | None:
    """One event line as JSON; None for a blank or a cut-off last line."""
    complete = line.endswith(b"\n")
    if not line.strip():
        return None
    try:
        obj = jsonsafe.loads(line)
    except ValueError as exc:
        if not complete:
            return None  # the line a crash cut off
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise UsageError(f"{path} line {number} is not valid JSON ({reason})") from None
    if not isinstance(obj, dict):
        raise UsageError(f"{path} line {number} is not a JSON object")
    return obj


def _to_event(path: Path, number: int, obj: dict[str, Any]) -> CallEvent | None:
    try:
        kind = EventKind(obj.pop("event"))
    except (KeyError, ValueError, TypeError):
        return None  # an event a later version added
    if "t" not in obj or "call" not in obj:
        raise UsageError(f"{path} line {number} has no valid t or call")
    problem = event_problem(obj, kind in MESSAGE_EVENTS)
    if problem is not None:
        raise UsageError(f"{path} line {number}: {problem}")
    t = float(obj.pop("t"))
    call_id = str(obj.pop("call"))
    method = str(obj.pop("method", ""))
    message = raw = None
    if kind in MESSAGE_EVENTS:
        message = obj.pop("message", None)
        encoded = obj.pop("raw", None)
        if encoded is not None:
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (ValueError, TypeError):
                raise UsageError(f"{path} line {number}: raw is not base64") from None
    return CallEvent(kind, call_id, method, time=t, message=message, raw=raw, info=obj)


def _schema_from_header(path: Path, encoded: str) -> Schema:
    from google.protobuf import descriptor_pb2
    from google.protobuf.message import DecodeError

    from rpcctl.schema.registry import Schema

    try:
        fds = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(encoded, validate=True))
    except (ValueError, DecodeError) as exc:
        raise UsageError(f"{path}: the embedded schema is not a base64 FileDescriptorSet") from exc
    return Schema(list(fds.file))
