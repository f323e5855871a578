"""HPACK (RFC 7541) with memory: header blocks a connection sends or receives again and again.

The dynamic table belongs to the connection, so each `H2Conn` has one encoder and one decoder.
"""

from __future__ import annotations

from typing import Any

import hpack

# Header blocks remembered per connection (a server's `date` header makes a new one each second).
HPACK_CACHE_ENTRIES = 256


def _table_state(table: hpack.table.HeaderTable) -> tuple[int, object, int]:
    """What changes whenever an HPACK dynamic table does (entries are new tuples when added)."""
    entries = table.dynamic_entries
    return len(entries), entries[0] if entries else None, table.maxsize


class CachingDecoder(hpack.Decoder):
    """HPACK decoding remembered per header block while the dynamic table stays the same.

    A static server answers each call with the same block; decoding it (Huffman, in Python)
    was a third of the client's CPU per call. A block that changed the table is not cached
    and moves the generation on, which drops every earlier entry (their indexes may now name
    other entries). Limits hold: only blocks that passed them once are remembered.
    """

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[bytes, tuple[int, list[tuple[bytes, bytes]]]] = {}
        self._generation = 0

    def decode(self, data: bytes, raw: bool = False) -> list[tuple[bytes, bytes]]:  # type: ignore[override]
        key = bytes(data)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == self._generation and raw:
            return list(hit[1])
        before = _table_state(self.header_table)
        headers: list[tuple[bytes, bytes]] = list(super().decode(data, raw))
        if _table_state(self.header_table) != before:
            self._generation += 1
            self._cache.clear()
        elif raw:
            if len(self._cache) >= HPACK_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[key] = (self._generation, headers)
        return headers


class CachingEncoder(hpack.Encoder):
    """HPACK encoding remembered per header list while the dynamic table stays the same.

    Bench sends the same few header lists again and again: once their fields are in the
    table, each encodes to the same indexed block.
    """

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[tuple[Any, ...], bytes] = {}

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        key = tuple(headers)
        if not self.table_size_changes:
            block = self._cache.get(key)
            if block is not None:
                return block
        before = _table_state(self.header_table)
        resized = bool(self.table_size_changes)
        block = super().encode(key, huffman)
        if resized or _table_state(self.header_table) != before:
            self._cache.clear()  # indexes moved: cached blocks may now name other fields
        else:
            if len(self._cache) >= HPACK_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[key] = block
        return block
