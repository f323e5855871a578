"""`bench` loads its schema as `call` does (issue 11 §2): reflection-only and call-only headers,
the reflection cache and `--no-cache`, and one line when the bundled schema stands in.

Against grpcio servers with reflection (tests/schema/reflecting_server.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.schema.reflecting_server import PROTO_ROOT, SECRET_PROTO, V1, Reflecting, running
from tests.support.cli import CliResult, run_cli

pytestmark = pytest.mark.interop

BENCH = ("--protocol", "grpc", "--workers", "1", "-n", "2", "-c", "1", "-O", "json", "-d", "{}")


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[Reflecting]:
    with running(**getattr(request, "param", {})) as state:
        yield state


def _bench(served: Reflecting, method: str, *extra: str) -> CliResult:
    return run_cli("bench", served.address, method, *BENCH, *extra)


def _ok_calls(result: CliResult) -> int:
    assert result.exit_code == 0, result.stderr
    (run,) = json.loads(result.stdout)["runs"]
    return int(run["stats"]["codes"].get("OK", 0))


@pytest.mark.parametrize("served", [{"required": ("x-reflect", "yes")}], indirect=True)
def test_bench_reflection_headers_and_call_headers_go_where_they_belong(served: Reflecting) -> None:
    result = _bench(
        served, "demo.Demo/Get", "--no-cache",
        "--reflect-header", "x-reflect: yes", "--rpc-header", "x-rpc: 1", "-H", "x-both: 2",
    )  # fmt: skip
    assert _ok_calls(result) == 2
    for call_md in served.metadata["Get"]:
        assert call_md["x-rpc"] == "1" and call_md["x-both"] == "2"
        assert "x-reflect" not in call_md
    for seen in served.metadata[V1]:
        assert seen["x-reflect"] == "yes" and seen["x-both"] == "2"
        assert "x-rpc" not in seen


def test_bench_uses_the_reflection_cache_unless_told(served: Reflecting) -> None:
    def reflections(*extra: str) -> int:
        before = len(served.metadata.get(V1, []))
        assert _ok_calls(_bench(served, "demo.Demo/Get", *extra)) == 2
        return len(served.metadata.get(V1, [])) - before

    assert reflections("--no-cache") > 0
    assert reflections() == 0
    assert reflections("--no-cache") > 0


@pytest.mark.parametrize("served", [{"versions": ()}], indirect=True)
def test_bench_says_it_uses_the_bundled_schema(served: Reflecting) -> None:
    result = _bench(served, "RunnerService/Ping")
    notes = [line for line in result.stderr.splitlines() if line.startswith("schema:")]
    assert len(notes) == 1, result.stderr
    assert notes[0].startswith("schema: bundled RunnerService; server reflection is not enabled")


def test_bench_with_local_files_and_reflect_asks_the_server_for_the_rest(served: Reflecting) -> None:
    # Only secret.proto is local: demo.Demo comes by reflection, as with call.
    local = ("--proto", str(SECRET_PROTO), "-I", str(PROTO_ROOT))
    assert _ok_calls(_bench(served, "demo.Demo/Get", *local, "--reflect", "--no-cache")) == 2
    alone = _bench(served, "demo.Demo/Get", *local)
    assert alone.exit_code == 2, alone.stderr
    assert alone.stderr.startswith("error: unknown method 'demo.Demo/Get'")
