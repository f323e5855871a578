"""rpcctl against sonora, a gRPC-Web server nobody here wrote (ASGI on hypercorn, HTTP/1.1).

sonora speaks proto only, answers in the content type the request's ``accept`` names, puts an
error's status in the HTTP headers, and recognises text mode only by the bare
``application/grpc-web-text`` content type.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.interop

PROTO = "tests/protos/rpcctl/test/v1/test.proto"
MODES = [(), ("--grpc-web-text",)]
MODE_IDS = ["binary", "text"]


def call(peer: Any, method: str, data: str, *extra: str) -> Any:
    return run_cli(
        "call", peer.base_url, method, "--proto", PROTO, "--protocol", "grpc-web", "--timeout", "20s",
        "-d", data, *extra,
    )  # fmt: skip


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_unary_with_the_default_codec(sonora_peer: Any, mode: tuple[str, ...]) -> None:
    result = call(
        sonora_peer, "rpcctl.test.v1.TestService/Echo", '{"message": "hi ☺"}', "-H", "x-k: v", *mode
    )
    assert result.exit_code == 0, result.stderr
    assert result.json["message"] == "hi ☺"
    assert "x-k: v" in result.json["headers"]


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_server_streaming(sonora_peer: Any, mode: tuple[str, ...]) -> None:
    result = call(sonora_peer, "rpcctl.test.v1.TestService/Count", '{"count": 3}', *mode)
    assert result.exit_code == 0, result.stderr
    assert result.json_lines == [{"n": 1}, {"n": 2}, {"n": 3}]


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_an_error_status_in_the_headers(sonora_peer: Any, mode: tuple[str, ...]) -> None:
    result = call(sonora_peer, "Fail", '{"code": 9, "message": "nope: 100% ☺"}', *mode)
    assert result.exit_code == 64 + 9, result.stderr
    assert "FAILED_PRECONDITION (9): nope: 100% ☺" in result.stderr


def test_a_stream_that_fails_after_its_messages(sonora_peer: Any) -> None:
    result = call(sonora_peer, "Count", '{"count": 2, "fail_code": 10}')
    assert result.exit_code == 64 + 10, result.stderr
    assert result.json_lines == [{"n": 1}, {"n": 2}]
    assert "ABORTED (10): count failed after 2" in result.stderr


def test_json_only_when_asked(sonora_peer: Any) -> None:
    # sonora has no JSON codec: asking for it must fail clearly, not hang or crash.
    result = call(sonora_peer, "Echo", '{"message": "hi"}', "--codec", "json")
    assert result.exit_code != 0
    assert "Traceback" not in result.stderr
