"""`rpcctl replay` against hostile servers: a peer's status message reaches the terminal escaped
(no ESC, NUL or CR, no line that is not rpcctl's own), and the replay ends with exit 1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rpcctl.schema.registry import Schema
from rpcctl.schema.sources import bundled_files
from tests.cli.raw_peers import serving
from tests.hostile.frame_peers import FRAME_KINDS
from tests.runner.replay_support import PREFIX, record, task_shape
from tests.support.cli import run_cli


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "c.jsonl"
    schema = Schema(bundled_files())
    asyncio.run(record(schema, path, [task_shape("11111111-1111-1111-1111-111111111111")]))
    return path


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["control-chars", "invalid-utf8"])
@pytest.mark.parametrize("protocol", ["grpc", "connect"])
def test_a_peer_message_is_escaped_in_replay_progress(capture: Path, kind: str, protocol: str) -> None:
    with serving(FRAME_KINDS[kind](protocol)) as port:
        result = run_cli(
            "replay",
            str(capture),
            *("-t", f"http://127.0.0.1:{port}{PREFIX}", "--protocol", protocol, "--http2"),
            *("--codec", "proto", "--speed", "max", "--timeout", "3s"),
        )
    assert result.exit_code == 1, result.stderr
    assert not any(c in result.stderr for c in "\x1b\x00\r"), repr(result.stderr)
    assert all(line.startswith(("replay: ", "error: ")) for line in result.stderr.splitlines()), result.stderr
