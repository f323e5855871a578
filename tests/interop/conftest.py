"""Fixtures for the interop peers: real servers written with other people's libraries.

- `test_descriptor_set`: Path of a binary FileDescriptorSet (test.proto, runner.proto,
  google/rpc/error_details.proto, with imports), for `buf curl --schema` and the peers.
- `node_peer`: a connect-node server (Connect, gRPC, gRPC-Web; HTTP/1.1 and h2c on one port)
  serving TestService at the root and RunnerService under /api/v1/pipeline.
- `connect_python_peer`: a `connectrpc` (connect-python) server under hypercorn serving
  TestService (Connect, gRPC, gRPC-Web; HTTP/1.1 and h2c on one port).
- `buf_path`: the `buf` executable (tests/interop/node_peer/node_modules/.bin/buf).

Peers are session-scoped subprocesses on 127.0.0.1, port 0. A missing tool skips the test
locally; with CI=true it fails instead, so that CI cannot go green by skipping.
"""

from __future__ import annotations

import importlib.util
import json
import os
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from interop_schema import RUNNER_PREFIX, build_descriptor_set

from tests.support.external import unavailable as unavailable

HERE = Path(__file__).resolve().parent
NODE_PEER_DIR = HERE / "node_peer"
NODE_MODULES = NODE_PEER_DIR / "node_modules"
PYTHON_PEER = HERE / "connect_python_peer.py"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
INSTALL_HINT = "run tests/interop/install_peers.sh from the repository root"


@dataclass(frozen=True)
class Peer:
    """A running peer server."""

    name: str
    port: int
    pid: int
    log_path: Path

    @property
    def host(self) -> str:
        """host:port, for gRPC channel targets."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def runner_base_url(self) -> str:
        """Where RunnerService lives on the Node peer: base_url + /api/v1/pipeline."""
        return self.base_url + RUNNER_PREFIX

    def log(self) -> str:
        """What the peer wrote to stderr so far."""
        return self.log_path.read_text(errors="replace")


def _read_port(proc: subprocess.Popen[bytes], stdout: IO[bytes], log_path: Path) -> int:
    """Wait for the peer's {"port": N} line, or raise with its stderr."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(stdout, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                msg = f"no port line within {STARTUP_TIMEOUT_S:.0f} s"
                raise RuntimeError(msg)
            if not sel.select(timeout=left):
                continue
            chunk = os.read(stdout.fileno(), 4096)
            if not chunk:
                proc.wait(timeout=STOP_TIMEOUT_S)
                msg = f"exited with {proc.returncode} before printing its port"
                raise RuntimeError(msg)
            buf += chunk
    line = buf.split(b"\n", 1)[0]
    try:
        return int(json.loads(line)["port"])
    except (ValueError, KeyError, TypeError) as exc:
        msg = f"bad port line {line!r}"
        raise RuntimeError(msg) from exc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Close stdin (the peers exit on EOF), then SIGTERM, then SIGKILL — by this pid only."""
    if proc.stdin is not None:
        proc.stdin.close()
    for signal_it in (None, proc.terminate, proc.kill):
        if signal_it is not None:
            signal_it()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
            break
        except subprocess.TimeoutExpired:
            continue
    if proc.stdout is not None:
        proc.stdout.close()


def _run_peer(name: str, argv: list[str], cwd: Path, log_dir: Path) -> Iterator[Peer]:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    try:
        assert proc.stdout is not None
        try:
            port = _read_port(proc, proc.stdout, log_path)
        except RuntimeError as exc:
            pytest.fail(f"{name} peer did not start: {exc}\n{log_path.read_text()}", pytrace=False)
        yield Peer(name=name, port=port, pid=proc.pid, log_path=log_path)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def test_descriptor_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Binary FileDescriptorSet of test.proto + runner.proto + google.rpc error details."""
    out = tmp_path_factory.mktemp("interop-schema") / "interop.binpb"
    return build_descriptor_set(out)


@pytest.fixture(scope="session")
def node_peer(tmp_path_factory: pytest.TempPathFactory, test_descriptor_set: Path) -> Iterator[Peer]:
    """The connect-node peer; `.base_url`, `.port`, `.runner_base_url`."""
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    if not (NODE_MODULES / "@connectrpc" / "connect-node").is_dir():
        unavailable(f"the Node peer's npm packages are not installed: {INSTALL_HINT}")
    argv = [str(node), str(NODE_PEER_DIR / "server.mjs"), str(test_descriptor_set)]
    log_dir = tmp_path_factory.mktemp("node-peer")
    yield from _run_peer("node", argv, NODE_PEER_DIR, log_dir)


@pytest.fixture(scope="session")
def connect_python_peer(
    tmp_path_factory: pytest.TempPathFactory, test_descriptor_set: Path
) -> Iterator[Peer]:
    """The connect-python (`connectrpc` + hypercorn) peer; `.base_url`, `.port`."""
    for module in ("connectrpc", "hypercorn"):
        if importlib.util.find_spec(module) is None:
            unavailable(f"the Python package {module!r} is not installed")
    argv = [sys.executable, str(PYTHON_PEER), str(test_descriptor_set)]
    log_dir = tmp_path_factory.mktemp("connect-python-peer")
    yield from _run_peer("connect-python", argv, HERE, log_dir)


@pytest.fixture(scope="session")
def buf_path() -> Path:
    """The `buf` CLI installed by install_peers.sh (falls back to one on PATH)."""
    pinned = NODE_MODULES / ".bin" / "buf"
    if pinned.exists():
        if shutil.which("node") is None:
            unavailable("node is not installed (the npm buf launcher needs it)")
        return pinned
    found = shutil.which("buf")
    if found is None:
        unavailable(f"buf is not installed: {INSTALL_HINT}")
    return Path(str(found))


SONORA_PEER = HERE / "sonora_peer.py"


@pytest.fixture(scope="session")
def sonora_peer(tmp_path_factory: pytest.TempPathFactory, test_descriptor_set: Path) -> Iterator[Peer]:
    """The sonora (gRPC-Web only, `grpcASGI` + hypercorn, HTTP/1.1) peer; `.base_url`, `.port`."""
    for module in ("sonora", "hypercorn"):
        if importlib.util.find_spec(module) is None:
            unavailable(f"the Python package {module!r} is not installed")
    argv = [sys.executable, str(SONORA_PEER), str(test_descriptor_set)]
    log_dir = tmp_path_factory.mktemp("sonora-peer")
    yield from _run_peer("sonora", argv, HERE, log_dir)
