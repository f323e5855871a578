"""Redaction rules (rpcctl.proxy.redact): one credential-name rule for headers, JSON keys and
text assignments; JSON documents carried in string fields; --redact-header and --redact-field."""

from __future__ import annotations

import json

import pytest

from rpcctl.errors import UsageError
from rpcctl.proxy.redact import REDACTED, Redactor, is_credential_header


@pytest.mark.parametrize(
    "name",
    [
        "x-auth",
        "x-auth-bin",
        "x-access-key",
        "x-session-id",
        "x-signature",
        "authentication",
        "x-password",
        "x-credential-bin",
        "set-cookie",
        "X-Amz-Security-Token",
        "x-hub-signature-256",
        "x-goog-api-key",
    ],
)
def test_one_header_rule_for_text_and_binary_headers(name: str) -> None:
    assert is_credential_header(name)
    assert is_credential_header(name.removesuffix("-bin") + "-bin")


@pytest.mark.parametrize("name", [":authority", "x-author", "content-type", "grpc-status-details-bin"])
def test_names_that_only_look_like_credentials(name: str) -> None:
    assert not is_credential_header(name)


def test_redact_header_adds_names() -> None:
    redactor = Redactor(headers=["X-Tenant"])
    assert redactor.headers([["x-tenant", "acme"], ["x-user", "bob"]]) == [
        ["x-tenant", REDACTED],
        ["x-user", "bob"],
    ]


CONTENT = {
    "tx_uuid": "t1",
    "env": {"GITHUB_TOKEN": "ghp_planted1", "PATH": "/bin"},
    "password": "planted2",
    "deploy": {"sshPrivateKey": "planted3", "host": "h"},
    "vars": ["NPM_AUTH_TOKEN=planted4", "CI=true"],
    "script": "export AWS_SECRET_ACCESS_KEY=planted5\necho hi\n",
}


def test_credentials_in_json_carried_by_a_string_field() -> None:
    redactor = Redactor(b"k")
    out = redactor.message({"content": json.dumps(CONTENT), "success": True})
    assert out["success"] is True
    text = out["content"]
    assert "planted" not in text
    inner = json.loads(text)
    assert inner["tx_uuid"] == "t1" and inner["env"]["PATH"] == "/bin" and inner["deploy"]["host"] == "h"
    assert inner["env"]["GITHUB_TOKEN"] == redactor.placeholder("ghp_planted1")
    assert inner["vars"] == [f"NPM_AUTH_TOKEN={redactor.placeholder('planted4')}", "CI=true"]
    assert inner["script"] == f"export AWS_SECRET_ACCESS_KEY={redactor.placeholder('planted5')}\necho hi\n"


def test_content_without_credentials_is_kept_byte_for_byte() -> None:
    content = '{ "tx_uuid": "t1",\n  "stages": [] }'
    assert Redactor().message({"content": content}) == {"content": content}


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("password: hunter2\nuser: bob\n", "user: bob"),
        ("Authorization: Bearer abc.def\n", "Authorization: "),
        ("GET /x?token=abc&page=2", "&page=2"),
        ('{"apiKey": "abc"', '{"apiKey": "'),  # not JSON: read as text
    ],
)
def test_credential_assignments_in_text(text: str, kept: str) -> None:
    out = Redactor().text(text)
    assert "abc" not in out and "hunter2" not in out
    assert kept in out


def test_redact_field_paths() -> None:
    from rpcctl.proxy.redact import field_path

    redactor = Redactor(b"k", fields=[field_path("content.deploy.host"), field_path("runner.*")])
    out = redactor.message({"content": json.dumps(CONTENT), "runner": {"name": "n", "id": 5}, "x": "y"})
    assert json.loads(out["content"])["deploy"]["host"] == redactor.placeholder("h")
    assert out["runner"] == {"name": redactor.placeholder("n"), "id": redactor.placeholder("5")}
    assert out["x"] == "y"
    with pytest.raises(UsageError, match="redact-field"):
        field_path("a..b")


@pytest.mark.parametrize(("depth", "levels"), [(199, 4), (150, 6), (250, 1)])
def test_json_nested_in_strings_too_deep_to_walk_is_not_leaked(depth: int, levels: int) -> None:
    # JSON in a string in JSON...: past the parser's depth (or the stack) the document used
    # to be treated as plain text, whose escaped quotes hide "password" from the text rule.
    text = json.dumps({"password": "hunter2"})
    for _ in range(levels):
        text = json.dumps("[" * depth + text + "]" * depth)
    out = Redactor().message({"content": json.loads(text)})
    assert "hunter2" not in json.dumps(out)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("export PASSWORD='correct horse battery'\nUSER=bob", "USER=bob"),
        ('db_password = "two words" # prod', "# prod"),
        ('{"apiKey": "a b c", "x": 1', '"x": 1'),  # not JSON: read as text
    ],
)
def test_quoted_credential_values_are_redacted_whole(text: str, kept: str) -> None:
    # The value stopped at the first space, so only the first word of a quoted secret went.
    out = Redactor().text(text)
    assert "horse" not in out and "battery" not in out and "words" not in out and " b c" not in out
    assert kept in out
