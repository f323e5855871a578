"""Compiling .proto files, reading protosets, the bundled files and the compile cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rpcctl.errors import SchemaError
from rpcctl.schema import sources
from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import bundled_files, load_proto_files, load_protoset
from tests.support.schema import (
    RUNNER_PROTO,
    RUNNER_PROTO_ROOT,
    TEST_PROTO,
    TEST_PROTO_ROOT,
    compile_test_schema,
)


def test_compiles_the_test_proto_with_wkt_imports() -> None:
    files = load_proto_files([TEST_PROTO], [TEST_PROTO_ROOT])
    names = [f.name for f in files]
    assert names[-1] == "rpcctl/test/v1/test.proto"
    assert "google/protobuf/timestamp.proto" in names
    assert "google/protobuf/any.proto" in names
    # Source info is kept, for describe's comments.
    assert files[-1].source_code_info.location


def test_compiles_runner_proto_without_import_path() -> None:
    files = load_proto_files([RUNNER_PROTO])
    assert [f.name for f in files] == ["runner.proto"]
    schema = Schema(files)
    assert [s.full_name for s in schema.services()] == ["pkg.proto.runner.v1.RunnerService"]


def test_bundled_files_are_the_runner_schema() -> None:
    schema = Schema(bundled_files())
    assert schema.find_method("RunnerService/Ping").full_name == ("pkg.proto.runner.v1.RunnerService.Ping")
    assert schema.files[-1].name == "pkg/proto/runner/v1/runner.proto"
    assert sources.bundled_dir() == RUNNER_PROTO_ROOT


def test_compile_error_is_reported_like_protoc(tmp_path: Path) -> None:
    broken = tmp_path / "broken.proto"
    broken.write_text('syntax = "proto3";\n\nmessage A {\n  strin name = 1;\n}\n')
    with pytest.raises(SchemaError) as info:
        load_proto_files([broken])
    assert str(info.value) == f'{broken}:4:3: "strin" is not defined.'


def test_syntax_error_lines_carry_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "bad.proto").write_text('syntax = "proto3";\nmessage A {\n  string a = ;\n}\n')
    with pytest.raises(SchemaError) as info:
        load_proto_files([Path("bad.proto")], [tmp_path])
    # protoc names the file as it found it on disk.
    assert str(info.value) == f"{tmp_path / 'bad.proto'}:3:14: Expected field number."


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"nope\.proto: no such file"):
        load_proto_files([tmp_path / "nope.proto"])


def test_missing_import(tmp_path: Path) -> None:
    (tmp_path / "a.proto").write_text('syntax = "proto3";\nimport "missing/b.proto";\n')
    with pytest.raises(SchemaError) as info:
        load_proto_files([tmp_path / "a.proto"])
    assert "missing/b.proto: File not found." in str(info.value)


def test_import_paths(tmp_path: Path) -> None:
    lib = tmp_path / "lib" / "acme" / "v1"
    lib.mkdir(parents=True)
    (lib / "types.proto").write_text(
        'syntax = "proto3";\npackage acme.v1;\nmessage Thing { string id = 1; }\n'
    )
    app = tmp_path / "app"
    app.mkdir()
    (app / "svc.proto").write_text(
        'syntax = "proto3";\npackage app;\nimport "acme/v1/types.proto";\n'
        "service Svc { rpc Get(acme.v1.Thing) returns (acme.v1.Thing); }\n"
    )
    files = load_proto_files([app / "svc.proto"], [app, tmp_path / "lib"])
    assert [f.name for f in files] == ["acme/v1/types.proto", "svc.proto"]
    with pytest.raises(SchemaError, match="File not found"):
        load_proto_files([app / "svc.proto"])


def test_protoset_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "set.pb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{TEST_PROTO_ROOT}",
            f"-I{sources._wkt_include()}",
            "--include_imports",
            f"--descriptor_set_out={out}",
            "rpcctl/test/v1/test.proto",
        ],
        check=True,
        capture_output=True,
    )
    files = load_protoset(out)
    schema = Schema(files)
    assert schema.find_service("TestService").full_name == "rpcctl.test.v1.TestService"
    again = tmp_path / "again.pb"
    again.write_bytes(schema.to_protoset())
    assert [f.name for f in load_protoset(again)] == [f.name for f in schema.files]


@pytest.mark.parametrize("content", [b"\xff\xfe garbage \x00\x01", b""])
def test_garbage_protoset(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.pb"
    path.write_bytes(content)
    with pytest.raises(SchemaError, match="is not a FileDescriptorSet"):
        load_protoset(path)


def test_missing_protoset(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="no such file"):
        load_protoset(tmp_path / "none.pb")


def test_second_compile_is_served_from_the_cache(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    first = compile_test_schema()
    assert list(cache_dir.glob("*.json"))

    def no_protoc(*args: object) -> bytes:
        raise AssertionError("protoc must not run on a cache hit")

    monkeypatch.setattr(sources, "_run_protoc", no_protoc)
    second = compile_test_schema()
    assert [f.name for f in second.files] == [f.name for f in first.files]
    assert second.files[-1] == first.files[-1]


def test_changed_import_invalidates_the_cache(tmp_path: Path) -> None:
    (tmp_path / "dep.proto").write_text('syntax = "proto3";\nmessage Dep { string a = 1; }\n')
    (tmp_path / "main.proto").write_text(
        'syntax = "proto3";\nimport "dep.proto";\nmessage Main { Dep dep = 1; }\n'
    )
    first = load_proto_files([tmp_path / "main.proto"])
    assert [f.name for f in first[0].message_type[0].field] == ["a"]
    (tmp_path / "dep.proto").write_text('syntax = "proto3";\nmessage Dep { string b = 1; }\n')
    second = load_proto_files([tmp_path / "main.proto"])
    assert [f.name for f in second[0].message_type[0].field] == ["b"]


def test_corrupt_cache_entry_is_rebuilt(cache_dir: Path) -> None:
    compile_test_schema()
    (entry,) = cache_dir.glob("*.json")
    entry.write_text("{not json")
    assert compile_test_schema().find_service("TestService")
    assert entry.read_text().startswith("{")
    entry.write_text('{"format": 1, "protoset": "AAAA", "imports": []}')
    assert compile_test_schema().find_service("TestService")
