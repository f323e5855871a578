"""The interop peers' schema: compiled at run time into a FileDescriptorSet, loaded dynamically.

No generated code: the descriptor set is built with grpc_tools' protoc and message classes come
from a descriptor pool, so the peers and the tests never depend on a committed protoc output.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_PROTO_ROOT = REPO_ROOT / "tests" / "protos"
RUNNER_PROTO_ROOT = REPO_ROOT / "descriptors"
TEST_PROTO = "rpcctl/test/v1/test.proto"
RUNNER_PROTO = "pkg/proto/runner/v1/runner.proto"
ERROR_DETAILS_PROTO = "google/rpc/error_details.proto"

TEST_SERVICE = "rpcctl.test.v1.TestService"
RUNNER_SERVICE = "pkg.proto.runner.v1.RunnerService"
# RunnerService is served under this path prefix (connect-go style), and at the root for grpcio.
RUNNER_PREFIX = "/api/v1/pipeline"

# A rpcctl.test.v1.Kitchen in proto3 JSON touching every special case of the JSON mapping.
KITCHEN = {
    "text": "héllo",
    "big": "-9007199254740993",
    "ubig": "18446744073709551615",
    "blob": "AAEC/w==",
    "ratio": 1.5,
    "flag": True,
    "color": "COLOR_GREEN",
    "inner": {"name": "n", "values": [1, 2]},
    "inners": [{"name": "a"}, {"values": [3]}],
    "counts": {"a": "1", "b": "-2"},
    "byId": {"7": {"name": "seven"}},
    "choiceText": "c",
    "at": "2024-01-02T03:04:05.123Z",
    "took": "1.500s",
    "extra": {"k": [1, "x", None, True], "o": {}},
    "maybe": "m",
    "any": {"@type": "type.googleapis.com/rpcctl.test.v1.Inner", "name": "in-any"},
    "tags": ["t1", "t2"],
}


def _include_dirs() -> list[Path]:
    import grpc_tools
    from google.rpc import error_details_pb2

    # googleapis-common-protos ships google/rpc/*.proto next to the _pb2 modules.
    googleapis_root = Path(error_details_pb2.__file__).resolve().parents[2]
    well_known_root = Path(grpc_tools.__file__).resolve().parent / "_proto"
    return [TEST_PROTO_ROOT, RUNNER_PROTO_ROOT, well_known_root, googleapis_root]


def build_descriptor_set(out: Path, *, timeout: float = 60.0) -> Path:
    """Compile test.proto, runner.proto and google.rpc error details, with imports, to `out`."""
    args = [sys.executable, "-m", "grpc_tools.protoc"]
    args += [f"-I{d}" for d in _include_dirs()]
    args += ["--include_imports", f"--descriptor_set_out={out}"]
    args += [TEST_PROTO, RUNNER_PROTO, ERROR_DETAILS_PROTO]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        msg = f"protoc failed ({done.returncode}): {done.stderr.strip()}"
        raise RuntimeError(msg)
    return out


@dataclass(frozen=True)
class Schema:
    """A descriptor pool holding the interop protos, and a way to get message classes."""

    pool: descriptor_pool.DescriptorPool

    def message(self, full_name: str) -> type:
        """The message class for `full_name`."""
        return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(full_name))

    def method_types(self, service: str, method: str) -> tuple[type, type]:
        """The (input, output) message classes of `service`/`method`."""
        desc = self.pool.FindServiceByName(service).FindMethodByName(method)
        return (
            message_factory.GetMessageClass(desc.input_type),
            message_factory.GetMessageClass(desc.output_type),
        )


def load_schema(descriptor_set: Path, pool: descriptor_pool.DescriptorPool | None = None) -> Schema:
    """Add every file of `descriptor_set` to `pool` (a fresh one by default), skipping known ones.

    Files already in the pool (the well-known types in the default pool) are skipped, so that
    the same set can be loaded into the process-wide default pool.
    """
    pool = pool if pool is not None else descriptor_pool.DescriptorPool()
    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    for file in fds.file:
        try:
            pool.FindFileByName(file.name)
        except KeyError:
            pool.Add(file)
    return Schema(pool)
