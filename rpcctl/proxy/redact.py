"""What a capture hides: credentials in headers and in messages.

Headers: the value of a credential header becomes ``[REDACTED]``. A credential header is
one of `CREDENTIAL_HEADERS`, any name containing one of `CREDENTIAL_WORDS`, or a binary
(``-bin``) header whose name contains one of `BINARY_CREDENTIAL_WORDS`.

Messages: a string field whose JSON name looks like a credential (`is_credential_field`:
``token``, ``accessToken``, ``clientSecret``, ``password``, ``apiKey``…), such as the
``token`` of RunnerService's Register, Declare and FetchTask messages, becomes
``[REDACTED:xxxxxxxx]``: eight hex digits of an HMAC keyed per capture (the key is never
written). Equal tokens get equal placeholders within one capture, so `replay` can still tell
runners apart and map the identities a target issues, while the tokens themselves, even
short ones, cannot be recovered or guessed from the file. Empty strings stay empty.
Messages kept as raw bytes (no schema decodes them) cannot be redacted.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
from collections.abc import Iterable, Sequence
from typing import Any

REDACTED = "[REDACTED]"
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
CREDENTIAL_WORDS = ("token", "secret", "password", "api-key", "apikey", "api_key")
BINARY_SUFFIX = "-bin"
BINARY_CREDENTIAL_WORDS = (
    "auth",
    "token",
    "secret",
    "password",
    "key",
    "cred",
    "session",
    "cookie",
    "signature",
    "jwt",
)
# Field names compared lowercase with "_" and "-" removed ("api_key" and "apiKey" alike).
CREDENTIAL_FIELDS = frozenset({"token", "authorization", "password", "passwd", "secret", "apikey", "cookie"})
CREDENTIAL_FIELD_SUFFIXES = ("token", "secret", "password", "apikey", "credentials")


@functools.lru_cache(maxsize=1024)
def is_credential_header(name: str) -> bool:
    """True when a header of this name carries a credential."""
    name = name.lower()
    if name in CREDENTIAL_HEADERS or any(word in name for word in CREDENTIAL_WORDS):
        return True
    if name.endswith(BINARY_SUFFIX):
        stem = name[: -len(BINARY_SUFFIX)]
        return any(word in stem for word in BINARY_CREDENTIAL_WORDS)
    return False


@functools.lru_cache(maxsize=4096)
def is_credential_field(json_name: str) -> bool:
    """True when a message field of this (JSON or proto) name holds a credential."""
    key = json_name.lower().replace("_", "").replace("-", "")
    return key in CREDENTIAL_FIELDS or key.endswith(CREDENTIAL_FIELD_SUFFIXES)


def redact_headers(pairs: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """The [name, value] pairs with every credential value replaced by `REDACTED`."""
    return [[name, REDACTED if is_credential_header(name) else value] for name, value in pairs]


class Redactor:
    """Redacts headers and message fields for one capture (one HMAC key per instance)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else os.urandom(32)

    def placeholder(self, secret: str) -> str:
        """The stable placeholder of one secret value within this capture."""
        if not secret:
            return secret
        digest = hmac.new(self._key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        return f"[REDACTED:{base64.b16encode(digest[:4]).decode().lower()}]"

    def headers(self, pairs: Iterable[Sequence[Any]]) -> list[list[Any]]:
        """Header pairs with credentials redacted."""
        return redact_headers(pairs)

    def message(self, value: Any) -> Any:
        """A proto3 JSON value with credential string fields replaced, at any depth."""
        if isinstance(value, dict):
            return {key: self._field(key, item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.message(item) for item in value]
        return value

    def _field(self, key: str, value: Any) -> Any:
        if is_credential_field(key):
            if isinstance(value, str):
                return self.placeholder(value)
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                return [self.placeholder(item) for item in value]
        return self.message(value)
