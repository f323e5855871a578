"""FetchTask content is a peer's text: names_from_content never raises on hostile JSON
(plain json.loads raised RecursionError on deep nesting)."""

from __future__ import annotations

import pytest

from rpcctl.runner.tasknames import names_from_content


@pytest.mark.parametrize(
    "content",
    [
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '{"stages": [' + "[" * 100_000 + "]}",
        '{"n": ' + "1" * 5000 + "}",
    ],
    ids=["deep-object", "deep-list", "long-number"],
)
def test_hostile_content_gives_no_names(content: str) -> None:
    names = names_from_content(content)
    assert (names.stages, names.steps, names.actions) == ({}, {}, {})


def test_names_are_read() -> None:
    names = names_from_content('{"stages": [{"name": "build"}]}')
    assert names.stages == {0: "build"}
