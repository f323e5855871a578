"""The project's test schema, compiled from tests/protos with the rpcctl schema layer."""

from __future__ import annotations

from pathlib import Path

from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import load_proto_files

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_PROTO_ROOT = REPO_ROOT / "tests" / "protos"
TEST_PROTO = TEST_PROTO_ROOT / "rpcctl" / "test" / "v1" / "test.proto"
RUNNER_PROTO_ROOT = REPO_ROOT / "descriptors"
RUNNER_PROTO = RUNNER_PROTO_ROOT / "pkg" / "proto" / "runner" / "v1" / "runner.proto"
TEST_SERVICE = "rpcctl.test.v1.TestService"
RUNNER_SERVICE = "pkg.proto.runner.v1.RunnerService"


def compile_test_schema() -> Schema:
    """Compile tests/protos/rpcctl/test/v1/test.proto (and its well-known imports)."""
    return Schema(load_proto_files([TEST_PROTO], [TEST_PROTO_ROOT]))


def compile_runner_schema() -> Schema:
    """Compile the bundled runner.proto."""
    return Schema(load_proto_files([RUNNER_PROTO], [RUNNER_PROTO_ROOT]))
