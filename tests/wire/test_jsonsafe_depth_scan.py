"""jsonsafe's depth check reads a text once: an unterminated string full of escaped quotes
made it rescan the rest of the text at every quote (quadratic: a 400 KB answer from a
server, or a string captured by the proxy, held the event loop for minutes)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rpcctl import jsonsafe

SCRIPT = """
from rpcctl import jsonsafe
text = ('"' + chr(92)) * 200_000 + '[' * 300  # a quote, a backslash, ...: never closed
try:
    jsonsafe.loads(text)
except ValueError as exc:
    print(type(exc).__name__)
"""


def test_unterminated_string_of_escapes_is_refused_without_rescanning() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "JSONDecodeError"


@pytest.mark.parametrize(
    "text",
    ['["[[[[", ' * 1 + '"\\"[[["]' * 1, '{"a": "' + "[" * 300 + '"}', "[" * 150 + "]" * 150],
    ids=["brackets-in-strings", "many-in-one-string", "deep-but-allowed"],
)
def test_brackets_inside_strings_do_not_count(text: str) -> None:
    assert jsonsafe.loads(text) == json.loads(text)


def test_too_deep_is_still_refused() -> None:
    with pytest.raises(jsonsafe.NestingError):
        jsonsafe.loads("[" * 201 + "]" * 201)
