"""Hostile input and failed calls are explained in sentences, without Python inside."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import TEST_PROTO, TEST_PROTO_DIR, GrpcServer
from tests.support.cli import CliResult, run_cli

G = ("--protocol", "grpc")
PYTHON = re.compile(
    r"\w+\(\)|'(int|str|float|dict|list|NoneType)'|must be in (\[\]|a dict)|bytes-like|%[A-Za-z]|"
    r"Error:|Traceback"
)


def _said(result: CliResult, status: int, *words: str) -> str:
    assert result.exit_code == status, (result.exit_code, result.stderr)
    line = result.stderr.strip()
    assert line.startswith("error: ")
    assert len(line.splitlines()) == 1, line
    assert not PYTHON.search(line), line
    for word in words:
        assert word in line, line
    return line


@pytest.mark.parametrize(
    "data,words",
    [
        ("[1,2]", ("must be a JSON object", "not an array")),
        ("null", ("must be a JSON object", "not null")),
        ('{"message": 1}', ("field message", "expected a JSON string")),
        (
            '{"kitchen": {"inner": {"values": ["x"]}}}',
            ("kitchen.inner.values", "a JSON array", "whole number"),
        ),
        ('{"kitchen": {"inner": {"values": "x"}}}', ("kitchen.inner.values", "a JSON array")),
        ('{"kitchen": {"tags": {"a": 1}}}', ("kitchen.tags", "a JSON array", "a JSON string")),
        ('{"kitchen": {"big": "12x"}}', ("kitchen.big", "a whole number")),
        (
            '{"kitchen": {"counts": {"a": "x"}}}',
            ("kitchen.counts", "a JSON object", "each value a whole number"),
        ),
        ('{"kitchen": {"blob": 5}}', ("kitchen.blob", "base64")),
        ('{"delayMs": "1e400"}', ("delayMs", "a whole number")),
        ('{"kitchen": {"counts": [1]}}', ("kitchen.counts", "a JSON object, each key a JSON string")),
        ('{"kitchen": {"extra": 5}}', ("kitchen.extra", "expected a JSON object")),
        ('{"kitchen": {"at": "2024-13-45T00:00:00Z"}}', ("kitchen.at", "RFC 3339")),
        ('{"kitchen": {"at": "yesterday"}}', ("kitchen.at", "RFC 3339")),
        ('{"kitchen": {"took": "5x"}}', ("kitchen.took", 'a duration string such as "1.5s"')),
        ('{"delayMs": 99999999999}', ("delayMs", "from -2147483648 to 2147483647")),
        ('{"kitchen": {"big": "99999999999999999999"}}', ("kitchen.big", "to 9223372036854775807")),
        (
            '{"kitchen": {"color": "PURPLE"}}',
            ("kitchen.color", "one of COLOR_UNSPECIFIED, COLOR_RED, COLOR_GREEN"),
        ),
    ],
)
def test_request_that_does_not_fit_says_what_the_field_expects(
    grpc_server: GrpcServer, data: str, words: tuple[str, ...]
) -> None:
    _said(run_cli("call", grpc_server.target, "Echo", *G, "-d", data), 2, *words)


def test_answer_over_max_msg_size_names_the_option(grpc_server: GrpcServer) -> None:
    schema = ("--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_DIR))
    # A small request; the answer echoes the headers, so it is larger than 1 KiB.
    result = run_cli(
        "call",
        grpc_server.target,
        "Echo",
        *G,
        *schema,
        "--max-msg-size",
        "1KiB",
        "-H",
        f"x-pad: {'x' * 3000}",
    )
    _said(result, 64 + 8, "RESOURCE_EXHAUSTED", "1024", "--max-msg-size")


def test_a_request_the_server_refuses_as_too_large_gets_no_max_msg_size_hint() -> None:
    from tests.support.rpcctl_test_service import rpcctl_test_service

    big = "x" * (4 * 1024 * 1024 + 10)
    with rpcctl_test_service() as url:
        result = run_cli(
            "call",
            url,
            "Echo",
            "--proto",
            str(TEST_PROTO),
            "-I",
            str(TEST_PROTO_DIR),
            "-d",
            f'{{"message": "{big}"}}',
        )
    line = _said(result, 64 + 8, "RESOURCE_EXHAUSTED")
    assert "--max-msg-size" not in line


def test_deadline_is_worded_by_the_option(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "--timeout", "0.3s", "-d", '{"delayMs": 3000}')
    _said(result, 64 + 4, "DEADLINE_EXCEEDED", "--timeout of 0.3s exceeded")


def test_refused_connection_names_host_and_port(closed_port: int) -> None:
    line = _said(
        run_cli("call", f"127.0.0.1:{closed_port}", "Echo"), 1, f"127.0.0.1:{closed_port}", "refused"
    )
    assert "(" not in line


def test_unclosed_ipv6_bracket_is_a_usage_error() -> None:
    _said(run_cli("call", "http://[::1", "Echo"), 2, "invalid target", "[::1]:8080")


def test_missing_ca_file_names_the_option_and_file(tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    _said(
        run_cli("call", "https://127.0.0.1:1", "Echo", "--cacert", str(missing)), 2, "--cacert", str(missing)
    )


def test_client_certificate_that_is_not_pem(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"\x00\xff not a certificate")
    result = run_cli("call", "https://127.0.0.1:1", "Echo", "--cert", str(junk), "--key", str(junk))
    _said(result, 2, "--cert", "not a PEM certificate")


def test_request_file_that_is_not_utf8(grpc_server: GrpcServer, tmp_path: Path) -> None:
    data = tmp_path / "req.json"
    data.write_bytes(b'{"message": "\xff"}')
    result = run_cli("call", grpc_server.target, "Echo", *G, "-d", f"@{data}")
    _said(result, 2, str(data), "not UTF-8", "0xff")


def test_stdin_that_is_not_utf8(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Chat", *G, "-d", "@-", stdin=b'{"message": "\xfe"}')
    _said(result, 2, "standard input", "not UTF-8", "0xfe")


def test_listen_address_that_cannot_be_bound_is_shown_as_typed() -> None:
    # 192.0.2.1 (TEST-NET-1) is no local address: bind fails at once, with no name lookup.
    line = _said(run_cli("serve", "--listen", "192.0.2.1:0"), 1, "cannot listen on 192.0.2.1:0")
    assert "'" not in line


def test_a_servers_own_deadline_error_keeps_its_words(grpc_server: GrpcServer) -> None:
    data = '{"code": 4, "message": "the upstream was slow"}'
    result = run_cli("call", grpc_server.target, "Fail", *G, "--timeout", "30s", "-d", data)
    _said(result, 64 + 4, "DEADLINE_EXCEEDED", "the upstream was slow")


def test_codec_the_server_does_not_speak_names_the_other(grpc_server: GrpcServer) -> None:
    result = run_cli("call", grpc_server.target, "Echo", *G, "--codec", "json")
    _said(result, 64 + 13, "json", "try --codec proto")


def test_proto_that_does_not_compile_shows_protocs_error_without_its_log_noise(tmp_path: Path) -> None:
    junk = tmp_path / "junk.proto"
    junk.write_text("x")
    line = _said(run_cli("list", "--proto", str(junk), "-I", str(tmp_path)), 2, "junk.proto:1:1")
    assert "absl" not in line


def test_serve_certificate_that_is_not_pem(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"\x00\xff not a certificate")
    result = run_cli("serve", "--listen", "127.0.0.1:0", "--cert", str(junk), "--key", str(junk))
    _said(result, 2, "--cert", "not a PEM certificate")


@pytest.mark.parametrize(
    "message,largest_sent,compressed,hinted",
    [
        ("message size 5000 is larger than configured max 1024", 10, False, True),
        ("message size 5000 is larger than configured max 1024", 5000, False, False),  # the server's
        ("response body larger than 1024 bytes", 5000, False, True),
        ("decompressed message larger than 1024 bytes", 5000, False, True),
        ("decompressed message larger than 1024 bytes", 5000, True, False),  # it may be the server's
        ("request body is larger than the configured max of 1024", 10, False, False),
        ("message size 5000 is larger than configured max 2048", 10, False, False),  # not our limit
    ],
)
def test_when_the_max_msg_size_hint_applies(
    message: str, largest_sent: int, compressed: bool, hinted: bool
) -> None:
    from rpcctl.errors import RpcError
    from rpcctl.output.errors import over_max_msg_size
    from rpcctl.wire.status import Code

    better = over_max_msg_size(
        RpcError(Code.RESOURCE_EXHAUSTED, message), 1024, largest_sent, compressed=compressed
    )
    assert (better is not None) is hinted
    if better is not None:
        assert better.message.startswith(message) and "--max-msg-size" in better.message
    assert over_max_msg_size(RpcError(Code.INTERNAL, message), 1024, 10) is None


@pytest.mark.parametrize(
    "header,words",
    [
        ("x-trace-bin: %%%", ("x-trace-bin", "base64", "'%%%' is not")),  # a credential's is not shown
        ("no colon", ("'no colon'", "'NAME: VALUE'")),
        ("bad name: x", ("'bad name'", "0-9 a-z _ - .")),
    ],
)
def test_bad_header_says_what_a_header_must_be(header: str, words: tuple[str, ...]) -> None:
    line = _said(run_cli("call", "127.0.0.1:1", "Echo", "-H", header), 2, *words)
    assert "Only base64 data" not in line and "%%%=" not in line


@pytest.mark.parametrize(
    "target,words",
    [
        ("host:notaport", ("host:notaport", "port", "1 to 65535")),
        ("127.0.0.1:99999", ("127.0.0.1:99999", "port", "1 to 65535")),
    ],
)
def test_bad_port_says_what_a_port_is(target: str, words: tuple[str, ...]) -> None:
    _said(run_cli("call", target, "Echo"), 2, *words)


def test_a_server_answering_the_http2_preface_with_no_http_at_all() -> None:
    """A server that answers the HTTP/2 preface with a bare HTML page (no status line, as
    Python's http.server answers a request line it cannot parse): a first frame must be
    SETTINGS (RFC 9113 §3.4), so this is not HTTP/2, said so, not 'a frame of 3940676 bytes'."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    done = threading.Event()

    def answer() -> None:
        for _ in range(300):  # at most a minute; ends when the test is done
            if done.is_set():
                return
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(b"<!DOCTYPE html><html>nope</html>\n")
                except OSError:
                    pass

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        result = run_cli(
            "call", f"127.0.0.1:{port}", "Echo", *G, "--proto", str(TEST_PROTO), "-I", str(TEST_PROTO_DIR),
            "--timeout", "10s",
        )  # fmt: skip
    finally:
        done.set()
        thread.join(10)
        listener.close()
    line = _said(result, 1, f"127.0.0.1:{port}", "does not speak HTTP/2", "--protocol connect")
    assert "frame of" not in line


@pytest.mark.parametrize(
    "args",
    [
        ("list", "{target}"),
        ("describe", "{target}", "Echo"),
        ("call", "{target}", "Echo", "--http2"),
        ("call", "{target}", "Echo", "--protocol", "grpc-web", "--http2"),
    ],
)
def test_a_native_grpc_server_asked_in_another_protocol_is_one_plain_sentence(
    grpc_server: GrpcServer, args: tuple[str, ...]
) -> None:
    """grpcio resets a Connect or gRPC-Web stream before any header: the message says which
    protocol the server speaks and the option that works, not the HTTP/2 reset code."""
    result = run_cli(*(a.format(target=grpc_server.target) for a in args), "--no-cache", "--timeout", "10s")
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert f"{grpc_server.address} speaks only native gRPC" in line, line
    assert line.endswith("try --protocol grpc"), line
    assert "INTERNAL_ERROR" not in line and "stream reset" not in line, line
