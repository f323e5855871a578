"""Round trip: describe a file, compile the text again, and get the same descriptor back."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcctl.schema.describe import describe_file
from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import load_proto_files
from tests.schema.roundtrip_corpus import CorpusFile, canonical, corpus

CORPUS = corpus()


def roundtrip(item: CorpusFile, tmp: Path) -> tuple[str, str, str]:
    """(original descriptor, described text, descriptor of the text compiled again)."""
    original = Schema(load_proto_files([item.root / item.name], [item.root]))
    text = describe_file(original.pool.FindFileByName(item.name))
    out = tmp / item.name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    # The described file shadows the original; its imports still come from the original root.
    again = Schema(load_proto_files([out], [tmp, item.root]))
    return canonical(original, item.name), text, canonical(again, item.name)


def test_corpus_is_large() -> None:
    names = {item.name for item in CORPUS}
    assert {"google/protobuf/descriptor.proto", "google/api/http.proto", "hello.proto"} <= names
    assert len(CORPUS) >= 50


@pytest.mark.parametrize("item", CORPUS, ids=[item.id for item in CORPUS])
def test_describe_compiles_back_to_the_same_descriptor(item: CorpusFile, tmp_path: Path) -> None:
    before, text, after = roundtrip(item, tmp_path / "out")
    assert after == before, text
