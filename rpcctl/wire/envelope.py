"""The 5-byte envelope (Length-Prefixed-Message) shared by all three protocols.

PROTOCOL-HTTP2.md, "Requests"; PROTOCOL-WEB.md, "Message framing"; Connect protocol,
"Streaming-Request" (Enveloped-Message).

``flags (1 byte) | length (uint32, big-endian) | message (length bytes)``.
`EnvelopeReader` is sans-IO: feed it bytes in any chunking and it returns whole envelopes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NoReturn

from rpcctl.errors import ProtocolError
from rpcctl.wire.status import Code

FLAG_COMPRESSED = 0x01
FLAG_END_STREAM = 0x02
FLAG_TRAILER = 0x80
PREFIX_SIZE = 5
DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024
MAX_LENGTH = 0xFFFF_FFFF

_PREFIX = struct.Struct(">BI")
_pack_prefix = _PREFIX.pack
_unpack_prefix = _PREFIX.unpack_from
# Either of these ends the stream: Connect's EndStreamResponse, gRPC-Web's trailer frame.
_TERMINAL_FLAGS = FLAG_END_STREAM | FLAG_TRAILER


@dataclass(frozen=True, slots=True)
class Envelope:
    """One framed message: the flags byte and the (possibly compressed) payload."""

    flags: int
    data: bytes

    @property
    def compressed(self) -> bool:
        """Whether bit 0x01 is set: the payload is compressed with the negotiated encoding."""
        return bool(self.flags & FLAG_COMPRESSED)

    @property
    def end_stream(self) -> bool:
        """Whether bit 0x02 is set: a Connect EndStreamResponse (JSON payload)."""
        return bool(self.flags & FLAG_END_STREAM)

    @property
    def trailer(self) -> bool:
        """Whether bit 0x80 is set: a gRPC-Web trailer frame (HTTP/1 header block payload)."""
        return bool(self.flags & FLAG_TRAILER)

    def encode(self) -> bytes:
        """These flags and data as wire bytes."""
        return encode_envelope(self.data, self.flags)


def encode_envelope(data: bytes, flags: int = 0) -> bytes:
    """Frame ``data`` behind the 5-byte prefix."""
    return _pack_prefix(flags, len(data)) + data


class EnvelopeReader:
    """Reassembles envelopes from arbitrarily chunked bytes.

    ``allowed_flags`` lists the flag bits the protocol and direction permit: gRPC uses
    ``FLAG_COMPRESSED``; gRPC-Web responses add ``FLAG_TRAILER``; Connect streaming
    responses add ``FLAG_END_STREAM``. An envelope with an end-stream or trailer bit is the
    last one: any byte after it is an error. After an error the reader stays failed and
    raises the same error again.
    """

    __slots__ = ("_allowed", "_buf", "_ended", "_error", "_flags", "_max_size", "_need")

    def __init__(
        self, max_size: int = DEFAULT_MAX_MESSAGE_SIZE, allowed_flags: int = FLAG_COMPRESSED
    ) -> None:
        self._max_size = max_size
        self._allowed = allowed_flags
        self._buf = bytearray()
        # Bytes of the pending envelope's body still missing; -1 while reading a prefix.
        self._need = -1
        self._flags = 0
        self._ended = False
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """How many bytes of an incomplete envelope are held, its prefix included."""
        return len(self._buf) + (PREFIX_SIZE if self._need >= 0 else 0)

    @property
    def ended(self) -> bool:
        """Whether an end-stream or trailer envelope has been read."""
        return self._ended

    def feed(self, data: bytes) -> list[Envelope]:
        """Take the next bytes of the stream; return the envelopes they complete."""
        if self._error is not None:
            raise self._error
        if not data:
            return []
        if self._ended:
            self._fail(Code.INTERNAL, f"corrupt response: {len(data)} extra bytes after end of stream")
        out: list[Envelope] = []
        try:
            self._read(data, out)
        except ProtocolError:
            if not out:
                raise
            # Hand out what arrived intact; the error is raised by the next feed() or finish().
        return out

    def _read(self, data: bytes, out: list[Envelope]) -> None:
        buf = self._buf
        buf += data
        pos = 0
        size = len(buf)
        while True:
            if self._need < 0:
                if size - pos < PREFIX_SIZE:
                    break
                flags, length = _unpack_prefix(buf, pos)
                if flags & ~self._allowed:
                    self._fail(Code.INTERNAL, f"protocol error: invalid envelope flags {flags:#04x}")
                if length > self._max_size:
                    self._fail(
                        Code.RESOURCE_EXHAUSTED,
                        f"message size {length} is larger than configured max {self._max_size}",
                    )
                pos += PREFIX_SIZE
                self._need = length
                self._flags = flags
            if size - pos < self._need:
                break
            end = pos + self._need
            # One copy through a memoryview (a bytearray slice would copy twice); released
            # at once so that the bytearray can be resized again.
            with memoryview(buf) as view:
                out.append(Envelope(self._flags, bytes(view[pos:end])))
            pos = end
            self._need = -1
            if self._flags & _TERMINAL_FLAGS:
                self._ended = True
                if pos < size:
                    self._fail(
                        Code.INTERNAL,
                        f"corrupt response: {size - pos} extra bytes after end of stream",
                    )
                break
        # Deleting a prefix of a bytearray is amortized O(1) in CPython: no quadratic copying.
        del buf[:pos]

    def finish(self) -> None:
        """Declare the end of input; raise if an envelope was cut short."""
        if self._error is not None:
            raise self._error
        if self._need >= 0:
            self._fail(
                Code.INVALID_ARGUMENT,
                f"truncated envelope: message body has {len(self._buf)} of {self._need} bytes",
            )
        if self._buf:
            self._fail(
                Code.INVALID_ARGUMENT,
                f"truncated envelope: prefix has {len(self._buf)} of {PREFIX_SIZE} bytes",
            )

    def _fail(self, code: Code, message: str) -> NoReturn:
        self._buf.clear()
        self._error = ProtocolError(code, message)
        raise self._error
