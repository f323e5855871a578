"""Where request messages come from: `-d JSON`, `-d @file`, `-d @-` (read while the call runs)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rpcctl.errors import UsageError

if TYPE_CHECKING:
    from google.protobuf.descriptor_pool import DescriptorPool
    from google.protobuf.message import Message

    from rpcctl.schema.registry import CallKind

CHUNK = 64 * 1024
# Chunks read from stdin ahead of the messages sent.
AHEAD = 4


def read_data_argument(data: str) -> str | None:
    """The JSON text of `-d` (literal or `@file`); None for `@-` (stdin, read as the call runs)."""
    if data == "@-":
        return None
    if data.startswith("@"):
        path = Path(data[1:])
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"cannot read request data from {path}: {not_utf8(exc)}") from exc
        except OSError as exc:
            raise UsageError(f"cannot read request data from {path}: {exc.strerror or exc}") from exc
    return data


class RequestSource:
    """Request messages for a call, parsed and checked against the method's input type."""

    def __init__(self, cls: type[Message], pool: DescriptorPool, kind: CallKind) -> None:
        self.cls = cls
        self.pool = pool
        self.kind = kind

    def convert(self, value: Any) -> Message:
        """One JSON value as a request message."""
        from rpcctl.cli.request_fit import not_an_object, plain_reason
        from rpcctl.codec import check_required
        from rpcctl.schema.jsoncodec import message_from_json

        descriptor = self.cls.DESCRIPTOR
        wrong = not_an_object(value, descriptor)
        if wrong is not None:
            raise UsageError(wrong)
        try:
            message = message_from_json(value, self.cls, self.pool)
        except UsageError as exc:
            raise UsageError(plain_reason(str(exc), descriptor)) from exc
        check_required(message)
        return message

    def from_text(self, text: str | None) -> list[Message]:
        """All requests of a literal or file, checked before anything is sent."""
        from rpcctl.schema.jsoncodec import parse_json_values

        values = parse_json_values(text) if text is not None else []
        self.check_count(len(values))
        if not values and not self.kind.client_streams:
            return [self.cls()]
        return [self.convert(value) for value in values]

    def check_count(self, count: int) -> None:
        """A method that takes one request gets at most one."""
        if not self.kind.client_streams and count > 1:
            raise UsageError(
                f"{self.cls.DESCRIPTOR.full_name}: this method takes one request message, got {count}"
            )

    async def from_stream(
        self, stream: IO[bytes], prepare: Callable[[Any], Awaitable[None]] | None = None
    ) -> AsyncIterator[Message]:
        """Requests read from a stream as they arrive (bidi answers show up meanwhile).

        `prepare` sees each JSON value before it is converted (the type resolver)."""
        from rpcctl.schema.jsoncodec import JsonValueStream

        parser = JsonValueStream()
        count = 0
        async for chunk in read_chunks(stream):
            for value in parser.feed(chunk):
                count += 1
                self.check_count(count)
                if prepare is not None:
                    await prepare(value)
                yield self.convert(value)
        for value in parser.finish():
            count += 1
            self.check_count(count)
            if prepare is not None:
                await prepare(value)
            yield self.convert(value)
        if count == 0 and not self.kind.client_streams:
            yield self.cls()


async def read_chunks(stream: IO[bytes]) -> AsyncIterator[str]:
    """Text chunks of a binary stream, read by a daemon thread so that exit never waits on it.

    The thread reads at most `AHEAD` chunks ahead of the consumer: input that a call no longer
    takes (it ended early) stays unread, and a large input is not held in memory whole."""
    import codecs

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
    room = threading.Semaphore(AHEAD)
    stopped = threading.Event()

    def put(item: bytes | BaseException | None) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone: the call ended before stdin did
            return False
        return True

    def reader() -> None:
        read = _raw_reader(stream)
        try:
            while True:
                room.acquire()
                if stopped.is_set():
                    return
                chunk = read(CHUNK)
                if not chunk:
                    break
                if not put(chunk):
                    return
        except (OSError, ValueError) as exc:
            put(exc)
            return
        put(None)

    threading.Thread(target=reader, name="rpcctl-stdin", daemon=True).start()
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while True:
            item = await queue.get()
            room.release()
            if isinstance(item, BaseException):
                raise UsageError(f"cannot read standard input: {item}") from item
            try:
                text = decoder.decode(item or b"", final=item is None)
            except UnicodeDecodeError as exc:
                raise UsageError(f"cannot read standard input: {not_utf8(exc, offset=False)}") from exc
            if text:
                yield text
            if item is None:
                return
    finally:
        stopped.set()
        room.release()  # a reader waiting for room wakes up and stops


def not_utf8(exc: UnicodeDecodeError, *, offset: bool = True) -> str:
    """Why bytes are not text, without the codec's wording: the first bad byte (and where, when
    `exc` saw the whole input rather than one chunk of it)."""
    bad = exc.object[exc.start : exc.start + 1].hex()
    where = f" at offset {exc.start}" if offset else ""
    return f"not UTF-8 text (byte 0x{bad}{where}); JSON must be UTF-8"


def _raw_reader(stream: IO[bytes]) -> Any:
    """A read function that takes no lock of Python's buffered I/O.

    The reader thread may still be blocked in a read when the command exits (a bidi call that
    failed while stdin stays open). Blocked inside a `BufferedReader`, it holds the buffer's
    lock, and interpreter shutdown aborts ("Fatal Python error: _enter_buffered_busy"); blocked
    in `os.read` on the file descriptor, it holds nothing and simply goes away with the process.
    """
    import io
    import os

    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return getattr(stream, "read1", stream.read)
    return lambda size: os.read(fd, size)
