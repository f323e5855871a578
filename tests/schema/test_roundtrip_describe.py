"""Round trip: describe a file, compile the text again, and get the same descriptor back."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, message_factory, text_format

from rpcctl.schema.describe import describe_file
from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import load_proto_files
from tests.schema.roundtrip_corpus import CorpusFile, corpus

CORPUS = corpus()


def _canonical(schema: Schema, name: str) -> str:
    """The file's descriptor in text format, source info aside, custom options decoded."""
    fd = next(f for f in schema.files if f.name == name)
    try:
        cls = message_factory.GetMessageClass(
            schema.pool.FindMessageTypeByName("google.protobuf.FileDescriptorProto")
        )
    except KeyError:
        cls = descriptor_pb2.FileDescriptorProto
    copy = cls.FromString(fd.SerializeToString())
    copy.ClearField("source_code_info")
    return text_format.MessageToString(copy, descriptor_pool=schema.pool)


def roundtrip(item: CorpusFile, tmp: Path) -> tuple[str, str, str]:
    """(original descriptor, described text, descriptor of the text compiled again)."""
    original = Schema(load_proto_files([item.root / item.name], [item.root]))
    text = describe_file(original.pool.FindFileByName(item.name))
    out = tmp / item.name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    # The described file shadows the original; its imports still come from the original root.
    again = Schema(load_proto_files([out], [tmp, item.root]))
    return _canonical(original, item.name), text, _canonical(again, item.name)


def test_corpus_is_large() -> None:
    names = {item.name for item in CORPUS}
    assert {"google/protobuf/descriptor.proto", "google/api/http.proto", "hello.proto"} <= names
    assert len(CORPUS) >= 50


@pytest.mark.parametrize("item", CORPUS, ids=[item.id for item in CORPUS])
def test_describe_compiles_back_to_the_same_descriptor(item: CorpusFile, tmp_path: Path) -> None:
    before, text, after = roundtrip(item, tmp_path / "out")
    assert after == before, text
