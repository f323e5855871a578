"""Fixtures shared by every test: real servers on 127.0.0.1 with port 0, and a private cache."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_PROTO_DIR = ROOT / "tests" / "protos"
TEST_PROTO = TEST_PROTO_DIR / "rpcctl" / "test" / "v1" / "test.proto"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets a cache directory of its own; the user's is never touched. No command
    is handed to a daemon the developer may have running (tests/daemon start their own)."""
    monkeypatch.setenv("RPCCTL_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("RPCCTL_DAEMON", "off")


@dataclass
class GrpcServer:
    """A running grpcio server."""

    server: Any
    port: int
    scheme: str = "http"

    @property
    def target(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def test_schema() -> Any:
    """The compiled test service schema."""
    from tests.support.schema import compile_test_schema

    return compile_test_schema()


def _serve(test_schema: Any, **kwargs: Any) -> Iterator[GrpcServer]:
    from tests.servers.grpc_test_service import start_server

    server, port = start_server(test_schema.pool, **kwargs)
    try:
        yield GrpcServer(server, port)
    finally:
        server.stop(grace=None)


@pytest.fixture(scope="session")
def grpc_server(test_schema: Any) -> Iterator[GrpcServer]:
    """The test service with reflection v1 and v1alpha."""
    yield from _serve(test_schema, reflection=("v1", "v1alpha"))


@pytest.fixture(scope="session")
def grpc_server_v1alpha(test_schema: Any) -> Iterator[GrpcServer]:
    """The test service with reflection v1alpha only (as grpcio-reflection serves)."""
    yield from _serve(test_schema, reflection=("v1alpha",))


@pytest.fixture(scope="session")
def grpc_server_noreflect(test_schema: Any) -> Iterator[GrpcServer]:
    """The test service without reflection."""
    yield from _serve(test_schema, reflection=())


@dataclass(frozen=True)
class Certs:
    """A CA-less self-signed server certificate for 127.0.0.1 and localhost."""

    cert: Path
    key: Path


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A self-signed certificate made with openssl."""
    folder = tmp_path_factory.mktemp("certs")
    cert, key = folder / "server.pem", folder / "server.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certs(cert, key)


@pytest.fixture(scope="session")
def grpc_tls_server(test_schema: Any, certs: Certs) -> Iterator[GrpcServer]:
    """The test service over TLS with the self-signed certificate."""
    import grpc

    credentials = grpc.ssl_server_credentials([(certs.key.read_bytes(), certs.cert.read_bytes())])
    for served in _serve(test_schema, reflection=("v1",), credentials=credentials):
        served.scheme = "https"
        yield served


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on: bound (so no one else takes it) but not listening."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and never answers (closed at the end)."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()
