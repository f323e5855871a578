"""Credentials planted where a user's own command shows them: `-v` (request and response
headers), error messages that echo a header or a target. None is printed in clear."""

from __future__ import annotations

import pytest

from tests.conftest import GrpcServer
from tests.support.cli import run_cli

SECRET = "SEKRETpw1"
G = ("--protocol", "grpc")


def test_verbose_output_redacts_credential_headers(grpc_server: GrpcServer) -> None:
    headers = [f"authorization: Bearer {SECRET}", f"x-api-key: {SECRET}", f"x-session-id: {SECRET}"]
    result = run_cli(
        "call", "-v", grpc_server.target, "Echo", *G, *[arg for h in headers for arg in ("-H", h)], "-d", "{}"
    )
    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stderr
    assert ">   authorization: [REDACTED]" in result.stderr
    assert ">   user-agent: rpcctl/0.1" in result.stderr  # other headers as they went out


@pytest.mark.parametrize(
    "header",
    [f"authorization: Bearer {SECRET}\x01", f"x-token-bin: {SECRET}!!", f"x-api-key: {SECRET}\u00e9"],
    ids=["control-char", "bad-base64", "non-ascii"],
)
def test_a_bad_credential_header_is_named_not_echoed(grpc_server: GrpcServer, header: str) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "-H", header, "-d", "{}")
    assert result.exit_code == 2, result.stderr
    assert SECRET not in result.stderr
    assert header.split(":")[0] in result.stderr


@pytest.mark.parametrize(
    "target",
    [
        f"http://127.0.0.1:1/?token={SECRET}",
        f"http://127.0.0.1:1/#{SECRET}",
        f"http://bob:{SECRET}@127.0.0.1:1/x?y",
    ],
)
def test_a_refused_target_does_not_echo_its_query_or_password(target: str) -> None:
    result = run_cli("call", target, "rpcctl.test.v1.TestService/Echo", *G, "-d", "{}")
    assert result.exit_code == 2, result.stderr
    assert SECRET not in result.stderr
    assert "127.0.0.1:1" in result.stderr
