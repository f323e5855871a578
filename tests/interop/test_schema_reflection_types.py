"""Types found on demand: Anys and error details whose types only reflection knows (issue 11 §1).

The server (grpcio with reflection) answers with Anys of demo.Secret, declared in a file no
service file imports; rpcctl asks reflection for it by symbol, as grpcurl does. A type
nobody can describe is printed in grpcurl's form, `{"@type": …, "@value": "<base64>"}`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_grpcurl import _grpcurl

from tests.schema.reflecting_server import (
    MANY,
    MISSING_BYTES,
    MISSING_URL,
    URL,
    Reflecting,
    grpcurl_binary,
    start,
)
from tests.support.cli import run_cli
from tests.support.external import json_docs

pytestmark = pytest.mark.interop

G = ("--protocol", "grpc")
DEEPER = {"@type": URL + "demo.Deeper", "level": 2}
SECRET = {"@type": URL + "demo.Secret", "code": "s3cr3t", "inner": DEEPER}
MISSING = {"@type": MISSING_URL, "@value": base64.b64encode(MISSING_BYTES).decode()}


@pytest.fixture(scope="module")
def grpcurl() -> Path:
    return grpcurl_binary()


@pytest.fixture(scope="module")
def demo() -> Iterator[Reflecting]:
    running = start()
    try:
        yield running
    finally:
        running.server.stop(grace=None)


def test_response_any_of_a_type_no_service_file_imports(demo: Reflecting, grpcurl: Path) -> None:
    result = run_cli("call", demo.address, "demo.Demo/Get", *G, "-d", "{}")
    assert result.exit_code == 0, result.stderr
    assert result.json == {"item": SECRET}
    assert result.stderr == ""
    theirs = _grpcurl(grpcurl, "-plaintext", "-d", "{}", demo.address, "demo.Demo/Get")
    assert theirs.returncode == 0, theirs.stderr
    assert json_docs(theirs.stdout) == [result.json]


def test_request_any_of_a_type_no_service_file_imports(demo: Reflecting, grpcurl: Path) -> None:
    sent = {"item": {"@type": URL + "demo.Secret", "code": "x", "inner": DEEPER}}
    result = run_cli("call", demo.address, "demo.Demo/Get", *G, "-d", json.dumps(sent))
    assert result.exit_code == 0, result.stderr
    assert result.json == sent
    theirs = _grpcurl(grpcurl, "-plaintext", "-d", json.dumps(sent), demo.address, "demo.Demo/Get")
    assert theirs.returncode == 0, theirs.stderr
    assert json_docs(theirs.stdout) == [sent]


def test_request_from_stdin_resolves_too(demo: Reflecting) -> None:
    sent = {"item": {"@type": URL + "demo.Secret", "code": "y"}}
    result = run_cli("call", demo.address, "demo.Demo/Get", *G, "-d", "@-", stdin=json.dumps(sent).encode())
    assert result.exit_code == 0, result.stderr
    assert result.json == sent


def test_request_any_of_a_type_nobody_knows_is_bad_input(demo: Reflecting) -> None:
    sent = {"item": {"@type": URL + "demo.Nowhere", "code": "x"}}
    result = run_cli("call", demo.address, "demo.Demo/Get", *G, "-d", json.dumps(sent))
    assert result.exit_code == 2, result.stderr
    assert "demo.Nowhere" in result.stderr
    assert "Traceback" not in result.stderr


def test_unresolvable_any_keeps_the_rest_of_the_answer(demo: Reflecting, grpcurl: Path) -> None:
    result = run_cli("call", demo.address, "demo.Demo/Get", *G, "-d", '{"mode": "unknown"}')
    assert result.exit_code == 0, result.stderr
    expected = {"item": MISSING, "mode": "unknown", "items": [SECRET, MISSING], "byName": {"gone": MISSING}}
    assert result.json == expected
    notes = [line for line in result.stderr.splitlines() if line]
    assert notes == [
        f"note: {MISSING_URL} shown as base64 (@value): the server's reflection does not know it"
    ]
    theirs = _grpcurl(grpcurl, "-plaintext", "-d", '{"mode": "unknown"}', demo.address, "demo.Demo/Get")
    assert theirs.returncode == 0, theirs.stderr
    # grpcurl says why inside the JSON ("@error"); rpcctl says it once, on stderr.
    assert _without_error(json_docs(theirs.stdout)) == [expected]


def _without_error(doc: Any) -> Any:
    if isinstance(doc, list):
        return [_without_error(d) for d in doc]
    if isinstance(doc, dict):
        return {k: _without_error(v) for k, v in doc.items() if k != "@error"}
    return doc


def test_notes_about_raw_anys_are_bounded(demo: Reflecting) -> None:
    result = run_cli("call", demo.address, "demo.Demo/Get", *G, "-d", '{"mode": "many"}')
    assert result.exit_code == 0, result.stderr
    assert [item["@type"] for item in result.json["items"]] == [f"{MISSING_URL}{n}" for n in range(MANY)]
    notes = result.stderr.splitlines()
    assert len(notes) == 11, result.stderr
    assert notes[-1] == "note: more types shown as base64 (@value); no more notes about them"


def _details(stderr: str) -> list[Any]:
    prefix = "  detail: "
    return [json.loads(line[len(prefix) :]) for line in stderr.splitlines() if line.startswith(prefix)]


def test_error_detail_of_a_type_no_service_file_imports(demo: Reflecting) -> None:
    result = run_cli("call", demo.address, "demo.Demo/Fail", *G, "-d", "{}")
    assert result.exit_code == 64 + 7, result.stderr
    assert "PERMISSION_DENIED" in result.stderr
    assert _details(result.stderr) == [SECRET]


def test_text_format_resolves_too(demo: Reflecting) -> None:
    result = run_cli("call", demo.address, "demo.Demo/Get", *G, "-d", "{}", "--format", "text")
    assert result.exit_code == 0, result.stderr
    assert 'code: "s3cr3t"' in result.stdout
    assert "level: 2" in result.stdout


def test_describe_a_type_no_service_file_imports(demo: Reflecting, grpcurl: Path) -> None:
    result = run_cli("describe", demo.address, "demo.Secret", *G)
    assert result.exit_code == 0, result.stderr
    assert "message Secret {" in result.stdout
    assert "string code = 1;" in result.stdout
    theirs = _grpcurl(grpcurl, "-plaintext", demo.address, "describe", "demo.Secret")
    assert theirs.returncode == 0, theirs.stderr
    assert "string code = 1;" in theirs.stdout
    unknown = run_cli("describe", demo.address, "demo.Nowhere", *G)
    assert unknown.exit_code == 2, unknown.stderr
    assert unknown.stderr.startswith("error: unknown symbol 'demo.Nowhere'")
