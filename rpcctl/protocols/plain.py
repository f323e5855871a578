"""The shared part of the plainly-OK checks: a response head with the expected type, uncompressed.

Each protocol module has a `plainly_ok_unary` that bench's hot paths call on raw header lists
(bytes, as the HTTP/1.1 and HTTP/2 clients hand them out) before any decoder is built.
"""

from __future__ import annotations

CONTENT_TYPE = b"content-type"
_NO_ENCODING = (b"", b"identity")


def plain_head(headers: list[tuple[bytes, bytes]], content_type: bytes, encoding_header: bytes) -> bool:
    """Whether the content type is ``content_type`` (parameters aside, any case) and the
    ``encoding_header`` names no compression."""
    found = encoding = None
    for name, value in headers:
        if name == CONTENT_TYPE:
            if found is None:
                found = value
        elif name == encoding_header:
            encoding = value
    if found != content_type and (found is None or found.partition(b";")[0].strip().lower() != content_type):
        return False
    return encoding is None or encoding.strip().lower() in _NO_ENCODING
