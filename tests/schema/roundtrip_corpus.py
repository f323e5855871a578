"""The corpus of real-world .proto files the describe round trip and the template tests run over.

Loaded from installed packages (grpcio-tools' well-known, descriptor and editions-feature protos;
the google/api, google/rpc, google/type and google/longrunning protos of googleapis-common-protos),
from tests/protos (spex, proto2, editions and proto3-optional cases) and the bundled runner.proto.
grpcio-tools ships no unittest*.proto; tests/protos/proto2/everything.proto stands in for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2, message_factory, text_format

from rpcctl.schema.registry import Schema
from tests.support.schema import RUNNER_PROTO_ROOT, TEST_PROTO_ROOT


@dataclass(frozen=True)
class CorpusFile:
    """One .proto file: its import root and its name under that root."""

    root: Path
    name: str

    @property
    def id(self) -> str:
        """A short test id."""
        return self.name


def _wkt_root() -> Path:
    import grpc_tools

    return Path(grpc_tools.__file__).parent / "_proto"


def _googleapis_root() -> Path:
    import google.rpc.status_pb2

    return Path(google.rpc.status_pb2.__file__).parents[2]


def _under(root: Path, *dirs: str) -> list[CorpusFile]:
    found: list[CorpusFile] = []
    for sub in dirs:
        found += [
            CorpusFile(root, p.relative_to(root).as_posix()) for p in sorted((root / sub).rglob("*.proto"))
        ]
    return found


def corpus() -> list[CorpusFile]:
    """Every file of the corpus, well-known types first."""
    return [
        *_under(_wkt_root(), "google/protobuf"),
        *_under(_googleapis_root(), "google/api", "google/rpc", "google/type", "google/longrunning"),
        *_under(TEST_PROTO_ROOT / "spex", "."),
        *_under(TEST_PROTO_ROOT / "proto2", "."),
        *_under(TEST_PROTO_ROOT, "rpcctl"),
        *_under(RUNNER_PROTO_ROOT, "pkg"),
    ]


def canonical(schema: Schema, name: str) -> str:
    """A file's descriptor in text format, source info aside, custom options decoded."""
    fd = next(f for f in schema.files if f.name == name)
    try:
        desc = schema.pool.FindMessageTypeByName("google.protobuf.FileDescriptorProto")
        cls = message_factory.GetMessageClass(desc)
    except KeyError:
        cls = descriptor_pb2.FileDescriptorProto
    copy = cls.FromString(fd.SerializeToString())
    copy.ClearField("source_code_info")
    return text_format.MessageToString(copy, descriptor_pool=schema.pool)
