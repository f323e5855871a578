"""Cutting a byte string at chosen points: the chunkings the fuzz properties feed decoders."""

from __future__ import annotations


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the positions ``cuts`` (taken modulo its length + 1), in order."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, last = [], 0
    for point in [*points, len(data)]:
        out.append(data[last:point])
        last = point
    return out
