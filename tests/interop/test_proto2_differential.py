"""Differential tests for proto2 (issue 11 §3, §4): rpcctl beside grpcurl 1.8.6 and buf curl on the
same grpcio server (ext.v1.Ext and the spex hello.Hello, reflection v1alpha, which grpcurl speaks).

What legitimately differs, and is normalised here: grpcurl pretty-prints and orders JSON keys by
field number, so documents are compared parsed; in `describe`, grpcurl writes option names with a
leading dot, `key:value` without a space and pads `rpc Echo ( … )`, so option lines are compared
with blanks and the leading dot removed.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_grpcurl import grpcurl  # noqa: F401  (the fixture)

from tests.servers.grpc_proto2_services import proto2_schema, start_proto2_server
from tests.support.cli import run_cli
from tests.support.external import json_docs

pytestmark = pytest.mark.interop

TIMEOUT_S = 30.0
REQUEST = {"id": "a", "login": "u", "legacy": {"x": 5}, "[ext.v1.note]": "hi", "[ext.v1.marks]": [1, 2]}


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    """ext.v1.Ext and hello.Hello on grpcio with v1alpha reflection."""
    server, port = start_proto2_server(proto2_schema(), reflection="v1alpha")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


def _run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def _buf_curl(buf: Path, target: str, method: str, data: str) -> subprocess.CompletedProcess[str]:
    url = f"http://{target}/{method}"
    return _run(buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", data, url)


def test_extensions_and_groups_as_grpcurl_and_buf_curl_print_them(
    target: str,
    grpcurl: Path,  # noqa: F811
    buf_path: Path,
) -> None:
    data = json.dumps(REQUEST)
    ours = run_cli("call", target, "ext.v1.Ext/Echo", "--protocol", "grpc", "--no-cache", "-d", data)
    assert ours.exit_code == 0, ours.stderr
    theirs = _run(grpcurl, "-plaintext", "-d", data, target, "ext.v1.Ext/Echo")
    assert theirs.returncode == 0, theirs.stderr
    buf = _buf_curl(buf_path, target, "ext.v1.Ext/Echo", data)
    assert buf.returncode == 0, buf.stderr
    expected = {
        "id": "a",
        "login": "u",
        "legacy": {"x": 5},
        "[ext.v1.note]": "seen 'hi' retries=3 legacy.x=5",
        "[ext.v1.marks]": [1, 2, 2],
    }
    assert ours.json == expected
    assert json_docs(theirs.stdout) == [expected]
    assert json_docs(buf.stdout) == [expected]


def test_missing_required_field_is_refused_by_all_three(
    target: str,
    grpcurl: Path,  # noqa: F811
    buf_path: Path,
) -> None:
    data = '{"login": "u"}'
    ours = run_cli("call", target, "ext.v1.Ext/Echo", "--protocol", "grpc", "--no-cache", "-d", data)
    theirs = _run(grpcurl, "-plaintext", "-d", data, target, "ext.v1.Ext/Echo")
    buf = _buf_curl(buf_path, target, "ext.v1.Ext/Echo", data)
    assert ours.exit_code == 2
    assert "missing required field id" in ours.stderr
    assert theirs.returncode != 0
    assert "required fields missing: id" in theirs.stderr
    assert buf.returncode != 0
    assert "required field ext.v1.Base.id not set" in buf.stderr


def _options(text: str) -> list[str]:
    lines = [re.sub(r"\s+", "", line).replace("(.", "(") for line in text.splitlines()]
    return [line for line in lines if line.startswith("option")]


def test_describe_shows_the_custom_options_grpcurl_shows(target: str, grpcurl: Path) -> None:  # noqa: F811
    for symbol in ("hello.Hello", "ext.v1.Ext"):
        ours = run_cli("describe", target, symbol, "--protocol", "grpc", "--no-cache")
        assert ours.exit_code == 0, ours.stderr
        theirs = _run(grpcurl, "-plaintext", target, "describe", symbol)
        assert theirs.returncode == 0, theirs.stderr
        assert _options(theirs.stdout)
        assert _options(ours.stdout) == _options(theirs.stdout)


def test_describe_message_fields_as_grpcurl_shows_them(target: str, grpcurl: Path) -> None:  # noqa: F811
    ours = run_cli("describe", target, "ext.v1.Base", "--protocol", "grpc", "--no-cache")
    theirs = _run(grpcurl, "-plaintext", target, "describe", "ext.v1.Base")
    assert ours.exit_code == 0, ours.stderr
    # grpcurl orders fields by number; rpcctl keeps the file's order. Same lines otherwise.
    mine = sorted(re.sub(r"\s+", "", line).replace("(.", "(") for line in ours.stdout.splitlines())
    grpcurls = sorted(re.sub(r"\s+", "", line).replace("(.", "(") for line in theirs.stdout.splitlines()[1:])
    assert mine == grpcurls
