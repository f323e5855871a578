"""What a capture hides: credentials in headers, in message fields, and in text they carry.

Names. One rule for header names (text and ``-bin`` alike), for keys inside JSON carried in
string fields and for ``NAME=value`` / ``NAME: value`` assignments in text, as credential
scanners match keywords: the name is split into words (at ``-``, ``_``, ``.``, spaces and
camelCase humps), and it is a credential name when a word starts or ends with one of
`CREDENTIAL_WORDS` (``auth``, ``token``, ``secret``, ``key``, ``session``, ``signature``,
``password``, ``passwd``, ``credential``, ``cookie``, ``jwt``, ``bearer``). So
``authorization``, ``x-auth``, ``x-access-key``, ``x-session-id``, ``x-signature``,
``authentication``, ``GITHUB_TOKEN`` and ``dbPassword`` are; ``author`` and ``:authority``
(`NOT_CREDENTIAL_WORDS`) are not. `Redactor` takes more header names (``--redact-header``).

Headers: the value of a credential header becomes ``[REDACTED]``.

Messages: a string field whose proto3 JSON name is a credential field (`is_credential_field`:
``token``, ``accessToken``, ``clientSecret``, ``password``, ``apiKey``…), such as the ``token``
of RunnerService's Register, Declare and FetchTask messages, becomes ``[REDACTED:xxxxxxxx]``:
eight hex digits of an HMAC keyed per capture (the key is never written). Equal tokens get
equal placeholders within one capture, so `replay` can still tell runners apart and map the
identities a target issues, while the tokens themselves cannot be recovered or guessed from
the file. Empty strings stay empty. Any other string field is searched too: a JSON document
in it (a FetchTask ``content``) has the values of its credential-named keys replaced, at any
depth, and text has the values of credential-named assignments (``GITHUB_TOKEN=…``,
``password: …``, ``Authorization: Bearer …``) replaced. ``--redact-field PATH`` replaces what
the rules cannot guess (`field_path`). A JSON document too deeply nested to walk (over
`jsonsafe.MAX_DEPTH`, or JSON in strings in JSON past the stack) is replaced whole.
Messages kept as raw bytes (no schema decodes them) cannot be redacted.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rpcctl import jsonsafe
from rpcctl.errors import UsageError

REDACTED = "[REDACTED]"
CREDENTIAL_WORDS = (
    "auth",
    "token",
    "secret",
    "key",
    "session",
    "signature",
    "password",
    "passwd",
    "credential",
    "cookie",
    "jwt",
    "bearer",
)
NOT_CREDENTIAL_WORDS = frozenset({"author", "authors", "authority"})
# Field names compared lowercase with "_" and "-" removed ("api_key" and "apiKey" alike).
CREDENTIAL_FIELDS = frozenset({"token", "authorization", "password", "passwd", "secret", "apikey", "cookie"})
CREDENTIAL_FIELD_SUFFIXES = ("token", "secret", "password", "apikey", "credentials")

_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_ASSIGNMENT = re.compile(
    r"""(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)(?P<sep>["']?[ \t]*[=:][ \t]*["']?)"""
    # a quoted value runs to its closing quote (spaces and all), a bare one to a delimiter
    r"""(?P<value>(?<=")[^"\n]+|(?<=')[^'\n]+|(?:(?:Bearer|Basic|Token)[ \t]+)?[^\s"',;&]+)"""
)
_JSON_START = ("{", "[")


@functools.lru_cache(maxsize=4096)
def is_credential_name(name: str) -> bool:
    """True when a header, key or variable of this name holds a credential (the module's rule)."""
    words = _WORD_SPLIT.split(_HUMP.sub(" ", name).lower())
    return any(
        word not in NOT_CREDENTIAL_WORDS
        and (word.startswith(CREDENTIAL_WORDS) or word.endswith(CREDENTIAL_WORDS))
        for word in words
        if word
    )


def is_credential_header(name: str) -> bool:
    """True when a header of this name carries a credential (``-bin`` or not)."""
    return is_credential_name(name)


@functools.lru_cache(maxsize=4096)
def is_credential_field(json_name: str) -> bool:
    """True when a message field of this (JSON or proto) name holds a credential."""
    key = json_name.lower().replace("_", "").replace("-", "")
    return key in CREDENTIAL_FIELDS or key.endswith(CREDENTIAL_FIELD_SUFFIXES)


def redact_headers(pairs: Iterable[Sequence[Any]], extra: frozenset[str] = frozenset()) -> list[list[Any]]:
    """The [name, value] pairs with every credential value replaced by `REDACTED`."""
    return [
        [name, REDACTED if name.lower() in extra or is_credential_header(name) else value]
        for name, value in pairs
    ]


def field_path(text: str) -> tuple[str, ...]:
    """A ``--redact-field`` path: JSON names from the message root, dot-separated.

    A segment may be ``*`` (any key); lists are crossed without a segment, and a string that
    holds a JSON document is entered as if it were the document (``content.env.API_PASS``).
    Names match case-insensitively, ignoring ``_`` and ``-``. `UsageError` on an empty segment.
    """
    parts = tuple(text.split("."))
    if not text or not all(parts):
        raise UsageError(f"--redact-field {text!r}: give dot-separated field names, e.g. content.env.PASS")
    return tuple(_norm(part) for part in parts)


def _norm(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


class Redactor:
    """Redacts headers and message fields for one capture (one HMAC key per instance).

    ``headers``: more header names to redact; ``fields``: `field_path` results to redact.
    """

    def __init__(
        self,
        key: bytes | None = None,
        *,
        headers: Iterable[str] = (),
        fields: Iterable[tuple[str, ...]] = (),
    ) -> None:
        self._key = key if key is not None else os.urandom(32)
        self._headers = frozenset(name.lower() for name in headers)
        self._fields = tuple(fields)

    def placeholder(self, secret: str) -> str:
        """The stable placeholder of one secret value within this capture."""
        if not secret:
            return secret
        digest = hmac.new(self._key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        return f"[REDACTED:{base64.b16encode(digest[:4]).decode().lower()}]"

    def headers(self, pairs: Iterable[Sequence[Any]]) -> list[list[Any]]:
        """Header pairs with credentials redacted."""
        return redact_headers(pairs, self._headers)

    def message(self, value: Any) -> Any:
        """A proto3 JSON value with credentials replaced, at any depth (see the module doc)."""
        value = self._message(value)
        for path in self._fields:
            value = self._path(value, path)
        return value

    def _message(self, value: Any) -> Any:
        return self._walk(value, is_credential_field, False)

    def _walk(self, value: Any, secret: Callable[[str], bool], numbers: bool) -> Any:
        """``value`` with the values of keys ``secret`` names replaced (numbers too when asked)
        and every other string searched by `text`."""
        if isinstance(value, dict):
            return {key: self._entry(key, item, secret, numbers) for key, item in value.items()}
        if isinstance(value, list):
            return [self._walk(item, secret, numbers) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def _entry(self, key: str, value: Any, secret: Callable[[str], bool], numbers: bool) -> Any:
        if secret(key):
            if isinstance(value, str):
                return self.placeholder(value)
            if numbers and isinstance(value, int | float) and not isinstance(value, bool):
                return self.placeholder(str(value))
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                return [self.placeholder(item) for item in value]
        return self._walk(value, secret, numbers)

    def text(self, text: str) -> str:
        """A string with the credentials it carries replaced: JSON keys or assignments."""
        if text.lstrip().startswith(_JSON_START):
            try:
                document = jsonsafe.loads(text)
                if isinstance(document, dict | list):
                    redacted = self._document(document)
                    return text if redacted == document else json.dumps(redacted, ensure_ascii=False)
            except (jsonsafe.NestingError, RecursionError):
                # Too deep to walk (JSON in strings in JSON...): the text rule cannot see
                # keys behind escaped quotes, so the whole string goes.
                return self.placeholder(text)
            except ValueError:
                pass
        if "=" not in text and ":" not in text:
            return text
        return _ASSIGNMENT.sub(self._assignment, text)

    def _assignment(self, match: re.Match[str]) -> str:
        if not is_credential_name(match["name"]):
            return match.group()
        return match["name"] + match["sep"] + self.placeholder(match["value"])

    def _document(self, value: Any) -> Any:
        return self._walk(value, is_credential_name, True)

    def _path(self, value: Any, path: tuple[str, ...]) -> Any:
        if not path:
            if value is None or value == "":
                return value
            return self.placeholder(value if isinstance(value, str) else json.dumps(value))
        if isinstance(value, list):
            return [self._path(item, path) for item in value]
        if isinstance(value, dict):
            head, rest = path[0], path[1:]
            return {
                key: self._path(item, rest) if head in ("*", _norm(key)) else item
                for key, item in value.items()
            }
        if isinstance(value, str) and value.lstrip().startswith(_JSON_START):
            try:
                document = jsonsafe.loads(value)
            except ValueError:
                return value
            redacted = self._path(document, path)
            return value if redacted == document else json.dumps(redacted, ensure_ascii=False)
        return value
