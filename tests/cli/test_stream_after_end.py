"""A client stream stops reading and encoding `-d @-` once the call ended (grpc-go's SendMsg
returns io.EOF then): the server's status is reported at once, most of stdin left unread."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from rpcctl.cli.app import main
from rpcctl.cli.env import Environment
from tests.cli.raw_peers import Script, read_some, serving
from tests.hostile.peers import envelope

MESSAGES = 100_000
STDIN = b'{"n": 1}' + b" " * 50 + b"\n"  # 60 bytes a message
STDIN *= MESSAGES


class _Stdin(io.BytesIO):
    def isatty(self) -> bool:
        return False


def _call(*args: str) -> tuple[int, str, int]:
    """Exit status, stderr and how many bytes of the 100k-message stdin were read."""
    stdin, stdout, stderr = _Stdin(STDIN), io.StringIO(), io.StringIO()
    env = Environment(stdin=stdin, stdout=stdout, stderr=stderr, stdin_isatty=False,
                      stdout_isatty=False, stderr_isatty=False)  # fmt: skip
    code = 0
    try:
        main(["call", *args, "-d", "@-"], env)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, stderr.getvalue(), stdin.tell()


@pytest.fixture(scope="module")
def refusing_grpc(test_schema: Any) -> Iterator[int]:
    """The grpcio test service, whose Sum answers FAILED_PRECONDITION before reading a request."""
    from tests.servers import grpc_test_service

    class Refusing(grpc_test_service.TestServiceImpl):
        def sum(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "no more, thanks")

    original = grpc_test_service.TestServiceImpl
    grpc_test_service.TestServiceImpl = Refusing  # type: ignore[misc]
    try:
        server, port = grpc_test_service.start_server(test_schema.pool, reflection=("v1",))
    finally:
        grpc_test_service.TestServiceImpl = original  # type: ignore[misc]
    try:
        yield port
    finally:
        server.stop(grace=None)


def test_grpc_client_stream_answered_early_stops_reading_stdin(refusing_grpc: int) -> None:
    code, stderr, consumed = _call(f"127.0.0.1:{refusing_grpc}", "Sum", "--protocol", "grpc")
    assert "FAILED_PRECONDITION" in stderr or "failed_precondition" in stderr, stderr
    assert "no more, thanks" in stderr
    assert code == 64 + 9, stderr  # 64 + the gRPC code (DESIGN.md: exit codes)
    assert consumed < len(STDIN) // 4


def _connect_refusal(stop: threading.Event) -> Script:
    """HTTP/1.1 Connect: answer a client stream's head with an error end, then keep reading."""
    end = b'{"error": {"code": "failed_precondition", "message": "no more, thanks"}}'
    body = envelope(end, 0x02)
    answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/connect+json\r\ncontent-length: %d\r\n\r\n%b" % (
        len(body),
        body,
    )

    def script(sock: socket.socket) -> None:
        data = b""
        for _ in range(64):
            if b"\r\n\r\n" in data:
                break
            chunk = read_some(sock, 1, limit=2.0)
            if not chunk:
                return
            data += chunk
        sock.sendall(answer)
        for _ in range(2000):  # read (and drop) what the client still sends, for a while
            if stop.is_set() or not read_some(sock, 1 << 16, limit=0.2):
                return

    return script


def test_connect_http1_client_stream_answered_early_stops_reading_stdin(test_schema: Any) -> None:
    from tests.conftest import TEST_PROTO

    with serving(_connect_refusal) as port:
        code, stderr, consumed = _call(
            f"http://127.0.0.1:{port}", "rpcctl.test.v1.TestService/Sum", "--protocol", "connect",
            "--http1", "--proto", str(TEST_PROTO), "--codec", "json",
        )  # fmt: skip
    assert "no more, thanks" in stderr, stderr
    assert code == 64 + 9, stderr
    assert consumed < len(STDIN) // 4


def _counted_sends(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the request messages `WireCall.send` was given, as they are sent."""
    from rpcctl.wire_call import WireCall

    sent: list[int] = []
    send = WireCall.send

    async def counted(self: WireCall, message: bytes) -> None:
        sent.append(len(message))
        await send(self, message)

    monkeypatch.setattr(WireCall, "send", counted)
    return sent


def _call_with_file(tmp_path: Any, *args: str) -> tuple[int, str]:
    data = tmp_path / "requests.json"
    data.write_bytes(b'{"n": 1}\n' * MESSAGES)
    stdout, stderr = io.StringIO(), io.StringIO()
    env = Environment(stdin=_Stdin(b""), stdout=stdout, stderr=stderr, stdin_isatty=False,
                      stdout_isatty=False, stderr_isatty=False)  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        main(["call", *args, "-d", f"@{data}"], env)
    return int(exited.value.code or 0), stderr.getvalue()


def test_grpc_client_stream_from_a_file_stops_sending_once_answered(
    refusing_grpc: int, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-d @file` is parsed whole up front; the messages stop going once the server answered."""
    sent = _counted_sends(monkeypatch)
    code, stderr = _call_with_file(tmp_path, f"127.0.0.1:{refusing_grpc}", "Sum", "--protocol", "grpc")
    assert code == 64 + 9, stderr
    assert "no more, thanks" in stderr
    assert 0 < len(sent) < MESSAGES // 4


def test_connect_http1_client_stream_from_a_file_stops_sending_once_answered(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import TEST_PROTO

    sent = _counted_sends(monkeypatch)
    with serving(_connect_refusal) as port:
        code, stderr = _call_with_file(
            tmp_path, f"http://127.0.0.1:{port}", "rpcctl.test.v1.TestService/Sum", "--protocol",
            "connect", "--http1", "--proto", str(TEST_PROTO), "--codec", "json",
        )  # fmt: skip
    assert code == 64 + 9, stderr
    assert "no more, thanks" in stderr
    assert 0 < len(sent) < MESSAGES // 4
