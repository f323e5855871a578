"""The payload of a gRPC-Web trailer frame: an HTTP/1-style header block.

gRPC's PROTOCOL-WEB.md, "Message framing".

Written strictly (lowercase names, CRLF after every line, no blank line at the end, no
CR/LF/NUL injection); read leniently (mixed-case names, bare LF, missing final CRLF,
obsolete line folding joined with a space).
"""

from __future__ import annotations

import re

from rpcctl.errors import ProtocolError
from rpcctl.wire.metadata import Metadata
from rpcctl.wire.status import Code

CRLF = "\r\n"
# RFC 7230 token characters: lenient on read, beyond the gRPC name grammar.
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_OWS = " \t"


def parse_trailer_block(payload: bytes) -> Metadata:
    """Trailers from a trailer-frame payload; names lowercased, duplicates kept in order.

    Raises ProtocolError INTERNAL on a line without ``:`` or with an invalid name.
    """
    text = payload.decode("utf-8", errors="replace")
    pairs: list[list[str]] = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if not line.strip(_OWS):
            continue
        if line[0] in _OWS:
            if not pairs:
                raise ProtocolError(
                    Code.INTERNAL, f"invalid trailer block: continuation line first: {line!r}"
                )
            pairs[-1][1] = f"{pairs[-1][1]} {line.strip(_OWS)}".strip(_OWS)
            continue
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN_RE.fullmatch(name):
            raise ProtocolError(Code.INTERNAL, f"invalid trailer block line {line[:100]!r}")
        pairs.append([name.lower(), value.strip(_OWS)])
    return Metadata.from_wire_pairs((name, value) for name, value in pairs)


def encode_trailer_block(md: Metadata) -> bytes:
    """The trailer-frame payload for ``md``: ``name: value\\r\\n`` per entry.

    Raises ProtocolError INTERNAL on a name or value that could inject lines (RFC 9110 §5.5).
    """
    return "".join(f"{key}: {value}{CRLF}" for key, value in md.to_wire_pairs()).encode("ascii")
