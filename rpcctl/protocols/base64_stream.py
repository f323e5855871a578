"""Incremental, bounded base64 decoding for gRPC-Web text bodies (PROTOCOL-WEB.md, text mode).

Servers base64-encode and flush whole frames, so ``=`` padding can appear in the middle of a
body. Input is decoded in groups of four characters; a group may end a padded segment. At most
three undecoded characters are held between calls.
"""

from __future__ import annotations

import binascii

from rpcctl.errors import ProtocolError
from rpcctl.wire.status import Code

_WHITESPACE = b" \t\r\n"


class Base64Stream:
    """Decodes standard, padded base64 fed in arbitrary chunks."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> bytes:
        """The bytes that the complete 4-character groups seen so far decode to."""
        if any(c in _WHITESPACE for c in data):
            data = data.translate(None, _WHITESPACE)
        data = self._pending + data
        usable = len(data) - len(data) % 4
        self._pending = data[usable:]
        if not usable:
            return b""
        chunk = data[:usable]
        if b"=" not in chunk[:-2]:
            return self._decode(chunk)
        # Padding mid-body: decode group by group so each padded segment stands alone.
        out = bytearray()
        start = 0
        for end in range(4, usable + 1, 4):
            if chunk[end - 1 : end] == b"=" or end == usable:
                out += self._decode(chunk[start:end])
                start = end
        return bytes(out)

    def finish(self) -> None:
        """Declare the end of input; raise if characters are left over."""
        if self._pending:
            raise ProtocolError(
                Code.INTERNAL,
                f"malformed grpc-web-text body: {len(self._pending)} base64 characters left over",
            )

    @staticmethod
    def _decode(chunk: bytes) -> bytes:
        try:
            return binascii.a2b_base64(chunk, strict_mode=True)
        except binascii.Error as exc:
            raise ProtocolError(
                Code.INTERNAL, f"malformed grpc-web-text body: invalid base64 ({exc})"
            ) from None
