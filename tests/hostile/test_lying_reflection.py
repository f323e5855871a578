"""`rpcctl list`, `describe` and `call` against reflection that lies (tests/hostile/lying_reflection.py):
each ends with the documented exit status and a clear message, never a traceback or a hang,
with the reflection limits (4,096 files, 64 MiB, the 4 MiB message cap) holding."""

from __future__ import annotations

import pytest

from tests.hostile.lying_reflection import lying
from tests.support.cli import run_cli

# kind: (command, exit status, words on stderr)
CASES = {
    "self-import": ("describe", 2, "import cycle: lie.proto -> lie.proto"),
    "cycle": ("call", 2, "import cycle: b.proto -> lie.proto -> b.proto"),
    "10k-files": ("list", 1, "more than 4096 files"),
    "10k-chain": ("list", 1, "more than 4096 files"),
    "100mb-descriptor": ("describe", 1, "larger than configured max 4194304"),
    "wrong-file": ("call", 2, "does not define the service"),
}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kind", list(CASES))
def test_lying_reflection(kind: str) -> None:
    command, status, words = CASES[kind]
    extra = {"list": (), "describe": ("lie.Lying",), "call": ("lie.Lying/Call", "-d", "{}")}[command]
    with lying(kind) as port:
        result = run_cli(
            command, f"http://127.0.0.1:{port}", *extra, "--protocol", "grpc", "--timeout", "30s"
        )
    assert result.exit_code == status, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr) < 2000
