"""Reflection that falls back honestly (issue 11 §2), against grpcio servers with reflection.

v1 → v1alpha on any v1 failure; no silent bundled schema; reflection-only and call-only
headers; local files with reflection for the rest; the reflected schema cached per target.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.schema.reflecting_server import (
    DEMO_PROTO,
    PROTO_ROOT,
    SECRET_PROTO,
    URL,
    V1,
    Reflecting,
    grpcurl_binary,
    running,
)
from tests.support.cli import CliResult, run_cli

pytestmark = pytest.mark.interop

G = ("--protocol", "grpc")
V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[Reflecting]:
    with running(**getattr(request, "param", {})) as state:
        yield state


def _old_server_protoset() -> str:
    """A cached schema as a server without demo.Demo would have left it (just any.proto)."""
    from google.protobuf import any_pb2
    from google.protobuf.descriptor_pb2 import FileDescriptorProto, FileDescriptorSet

    only = FileDescriptorProto()
    any_pb2.DESCRIPTOR.CopyToProto(only)
    return base64.b64encode(FileDescriptorSet(file=[only]).SerializeToString()).decode()


@pytest.fixture
def cache_dir() -> Path:
    return Path(os.environ["RPCCTL_CACHE_DIR"])


def _one_line_error(result: CliResult, status: int) -> str:
    assert result.exit_code == status, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.parametrize(
    "served",
    [
        {"v1_failure": grpc.StatusCode.UNAVAILABLE},
        {"v1_failure": grpc.StatusCode.UNAUTHENTICATED},
        {"v1_failure": grpc.StatusCode.UNIMPLEMENTED},
        {"versions": ("v1alpha",)},
    ],
    indirect=True,
    ids=["v1-unavailable", "v1-unauthenticated", "v1-unimplemented", "v1alpha-only"],
)
def test_v1alpha_when_v1_fails_in_any_way(served: Reflecting) -> None:
    result = run_cli("list", served.address, *G)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["demo.Demo"]
    called = run_cli("call", served.address, "demo.Demo/Get", *G, "-d", "{}")
    assert called.exit_code == 0, called.stderr
    assert called.json["item"]["code"] == "s3cr3t"


@pytest.mark.parametrize("served", [{"versions": ()}], indirect=True)
@pytest.mark.parametrize("command", [("list",), ("describe", "demo.Demo")], ids=["list", "describe"])
def test_list_and_describe_refuse_the_bundled_schema(served: Reflecting, command: tuple[str, ...]) -> None:
    result = run_cli(command[0], served.address, *command[1:], *G)
    stderr = _one_line_error(result, 1)
    assert "reflection" in stderr
    assert "--proto" in stderr and "--protoset" in stderr
    assert "RunnerService" not in stderr
    theirs = subprocess.run(
        [str(grpcurl_binary()), "-plaintext", served.address, *command],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert (theirs.returncode, theirs.stdout) == (1, "")  # grpcurl refuses as well
    assert "reflection" in theirs.stderr


def test_list_of_a_grpc_server_over_connect_names_the_protocol(served: Reflecting) -> None:
    result = run_cli("list", served.address)
    stderr = _one_line_error(result, 1)
    assert "--protocol grpc" in stderr


@pytest.mark.parametrize("served", [{"versions": ()}], indirect=True)
def test_call_says_it_uses_the_bundled_schema(served: Reflecting) -> None:
    result = run_cli("call", served.address, "RunnerService/Ping", *G, "-d", "{}")
    lines = result.stderr.splitlines()
    assert lines[0].startswith("schema: bundled RunnerService; server reflection is not enabled")
    assert [line for line in lines if line.startswith("schema:")] == [lines[0]]
    assert result.exit_code == 64 + 12, result.stderr  # demo has no RunnerService: UNIMPLEMENTED


@pytest.mark.parametrize("served", [{"versions": ()}], indirect=True)
def test_unknown_method_gets_no_unrelated_suggestions(served: Reflecting) -> None:
    result = run_cli("call", served.address, "demo.Demo/Get", *G, "-d", "{}")
    stderr = _one_line_error(result, 2)
    assert "did you mean" not in stderr
    assert "reflection is not enabled" in stderr


@pytest.mark.parametrize("served", [{"required": ("x-reflect", "yes")}], indirect=True)
def test_reflection_headers_and_call_headers_go_where_they_belong(served: Reflecting) -> None:
    result = run_cli(
        "call", served.address, "demo.Demo/Get", *G, "-d", "{}",
        "--reflect-header", "x-reflect: yes", "--rpc-header", "x-rpc: 1", "-H", "x-both: 2",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (call_md,) = served.metadata["Get"]
    assert call_md["x-rpc"] == "1" and call_md["x-both"] == "2"
    assert "x-reflect" not in call_md
    for seen in served.metadata[V1]:
        assert seen["x-reflect"] == "yes" and seen["x-both"] == "2"
        assert "x-rpc" not in seen
    listed = run_cli("list", served.address, *G, "--reflect-header", "x-reflect: yes")
    assert listed.stdout.splitlines() == ["demo.Demo"]


@pytest.mark.parametrize("served", [{"required": ("x-reflect", "yes")}], indirect=True)
def test_reflection_refused_without_its_header(served: Reflecting) -> None:
    result = run_cli("list", served.address, *G, "--rpc-header", "x-reflect: yes")
    assert result.exit_code == 2  # --rpc-header is not an option of list
    refused = run_cli("list", served.address, *G, "-H", "x-other: 1")
    stderr = _one_line_error(refused, 1)
    assert "UNAUTHENTICATED" in stderr


def test_local_files_first_reflection_for_the_rest(served: Reflecting, tmp_path: Path) -> None:
    # Only secret.proto is local: the service comes by reflection, Secret from the file.
    result = run_cli(
        "call", served.address, "demo.Demo/Get", *G, "-d", "{}",
        "--proto", str(SECRET_PROTO), "-I", str(PROTO_ROOT), "--reflect", "-v",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.json["item"]["code"] == "s3cr3t"
    assert "* schema from proto files, server reflection" in result.stderr
    # Only demo.proto is local: the service from the file, Secret by reflection on demand.
    served.reflection_requests.clear()
    on_demand = run_cli(
        "call", served.address, "demo.Demo/Get", *G, "-d", "{}",
        "--proto", str(DEMO_PROTO), "-I", str(PROTO_ROOT), "--reflect", "--no-cache",
    )  # fmt: skip
    assert on_demand.exit_code == 0, on_demand.stderr
    assert on_demand.json["item"]["@type"] == URL + "demo.Secret"
    assert "file_containing_symbol" in served.reflection_requests


@pytest.mark.parametrize("served", [{"versions": ()}], indirect=True)
def test_local_files_serve_when_reflection_beside_them_fails(served: Reflecting) -> None:
    result = run_cli(
        "call", served.address, "demo.Demo/Get", *G, "-d", "{}",
        "--proto", str(DEMO_PROTO), "-I", str(PROTO_ROOT), "--reflect",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert set(result.json["item"]) == {"@type", "@value"}  # demo.Secret: nobody to ask
    warning, note = result.stderr.splitlines()
    # No "give the schema with --proto" hint: the user did.
    assert (
        warning
        == "warning: server reflection is not enabled on the server; using the local schema files only"
    )
    assert note.startswith(f"note: {URL}demo.Secret shown as base64 (@value): ")


def test_second_call_makes_no_reflection_round_trip(served: Reflecting, cache_dir: Path) -> None:
    def call(*extra: str) -> list[str]:
        served.reflection_requests.clear()
        before = len(served.metadata.get(V1, []))
        result = run_cli("call", served.address, "demo.Demo/Get", *G, "-d", "{}", *extra)
        assert result.exit_code == 0, result.stderr
        assert result.json["item"]["code"] == "s3cr3t"
        return served.reflection_requests[:] + [V1] * (len(served.metadata.get(V1, [])) - before)

    first = call()
    assert "list_services" in first
    assert "file_containing_symbol" in first  # demo.Secret, on demand
    assert call() == []  # the service and the types found on demand, all cached
    assert "list_services" in call("--no-cache")
    assert "list_services" in call("--reflect-header", "x-tenant: b")  # another key
    assert call("--reflect-header", "x-tenant: b") == []
    assert run_cli("cache", "clear").exit_code == 0
    assert "list_services" in call()
    for entry in (cache_dir / "reflection").iterdir():
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600
        assert "x-tenant" not in entry.read_text()


def _cache_an_old_schema(served: Reflecting, cache_dir: Path) -> None:
    """Cache the target's schema, then make it one an older server (no demo.Demo) left."""
    assert run_cli("list", served.address, *G).exit_code == 0
    (entry,) = (cache_dir / "reflection").iterdir()
    record = json.loads(entry.read_text())
    record["protoset"] = _old_server_protoset()
    entry.write_text(json.dumps(record))


def test_a_cached_schema_without_the_method_asks_again(served: Reflecting, cache_dir: Path) -> None:
    _cache_an_old_schema(served, cache_dir)
    result = run_cli("call", served.address, "demo.Demo/Fail", *G, "-d", "{}")
    assert result.exit_code == 64 + 7, result.stderr


def test_a_cached_schema_without_the_service_asks_again(served: Reflecting, cache_dir: Path) -> None:
    _cache_an_old_schema(served, cache_dir)
    for command in (("list", "demo.Demo"), ("describe", "demo.Demo.Get")):
        result = run_cli(command[0], served.address, command[1], *G)
        assert result.exit_code == 0, result.stderr
        assert "Get" in result.stdout


def test_rpcctl_cache_ttl_sets_the_age_limit(
    served: Reflecting, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reflections() -> int:
        before = len(served.metadata.get(V1, []))
        result = run_cli("list", served.address, *G)
        assert result.exit_code == 0, result.stderr
        return len(served.metadata.get(V1, [])) - before

    monkeypatch.setenv("RPCCTL_CACHE_TTL", "0")
    assert reflections() > 0
    assert reflections() > 0  # nothing is reused
    monkeypatch.setenv("RPCCTL_CACHE_TTL", "1h")
    assert reflections() == 0  # the entry just written
    monkeypatch.setenv("RPCCTL_CACHE_TTL", "soon")
    bad = run_cli("list", served.address, *G)
    assert _one_line_error(bad, 2).startswith("error: $RPCCTL_CACHE_TTL: invalid duration 'soon'")


@pytest.mark.parametrize("served", [{"versions": ()}], indirect=True)
def test_reflect_alone_on_a_server_without_reflection_is_an_error_not_bad_input(served: Reflecting) -> None:
    # Was exit 2 (bad input) with --reflect and exit 1 without: a server's answer is no usage error.
    for command in (("list",), ("describe", "demo.Demo"), ("call", "demo.Demo/Get")):
        result = run_cli(command[0], served.address, *command[1:], *G, "--reflect")
        stderr = _one_line_error(result, 1)
        assert stderr == (
            "error: server reflection is not enabled on the server; give the schema with --proto or --protoset\n"
        )


def test_an_unknown_method_names_the_services_the_server_has(served: Reflecting) -> None:
    # A newcomer asking a reflecting server for a method it lacks learns what it does have.
    result = run_cli("call", served.address, "Ping", *G, "-d", "{}")
    assert _one_line_error(result, 2) == "error: unknown method 'Ping'; the server has demo.Demo\n"
    described = run_cli("describe", served.address, "Nowhere", *G)
    assert _one_line_error(described, 2) == "error: unknown symbol 'Nowhere'; the server has demo.Demo\n"
    close = run_cli("call", served.address, "Gett", *G, "-d", "{}")
    assert _one_line_error(close, 2) == "error: unknown method 'Gett'; did you mean demo.Demo/Get?\n"
