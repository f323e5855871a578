"""The one-file build: packaging/build_onefile.sh builds it, and THE BUILT FILE works alone.

The file runs outside any venv (env -i PATH=/usr/bin:/bin): `--version`, `list` and
`call` against a real grpcio server with reflection, and `demo` headless into a pipe.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GrpcServer
from tests.support.external import unavailable

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def onefile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """The built executable, and the bare environment it runs in."""
    python = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if not (Path("/usr/bin") / python).exists() and not (Path("/bin") / python).exists():
        unavailable(f"no /usr/bin/{python} to run the zipapp outside the venv")
    out = tmp_path_factory.mktemp("onefile")
    built = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build_onefile.sh"), str(out / "dist")],
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    home = out / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "SHIV_ROOT": str(out / "shiv")}
    yield out / "dist" / "rpcctl", env
    shutil.rmtree(out, ignore_errors=True)


def _run(exe: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["env", "-i", *(f"{k}={v}" for k, v in env.items()), str(exe), *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=env["HOME"],
    )


def test_version(onefile: tuple[Path, dict[str, str]]) -> None:
    exe, env = onefile
    result = _run(exe, env, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rpcctl 0.")


def test_list_and_call(onefile: tuple[Path, dict[str, str]], grpc_server: GrpcServer) -> None:
    exe, env = onefile
    listed = _run(exe, env, "list", grpc_server.target, "--protocol", "grpc")
    assert listed.returncode == 0, listed.stderr
    assert "rpcctl.test.v1.TestService" in listed.stdout.splitlines()
    called = _run(
        exe, env, "call", grpc_server.target, "Echo", "--protocol", "grpc", "-d", '{"message": "one file"}'
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["message"] == "one file"


def test_demo_headless(onefile: tuple[Path, dict[str, str]]) -> None:
    exe, env = onefile
    result = _run(exe, env, "demo", "--runners", "2", "--rows", "5")
    assert result.returncode == 0, result.stderr
    assert "rows, closed" in result.stdout
    assert "Traceback" not in result.stderr


def test_the_daemon_runs_calls_of_the_one_file(
    onefile: tuple[Path, dict[str, str]], grpc_server: GrpcServer, tmp_path: Path
) -> None:
    exe, bare = onefile
    env = dict(bare, RPCCTL_DAEMON_DIR=str(tmp_path / "daemon"))
    started = _run(exe, env, "daemon", "start", "--idle", "2m")
    assert started.returncode == 0, started.stderr
    try:
        called = _run(
            exe, env, "call", grpc_server.target, "Echo", "--protocol", "grpc", "-d", '{"message": "warm"}'
        )
        assert called.returncode == 0, called.stderr
        assert json.loads(called.stdout)["message"] == "warm"
        status = _run(exe, env, "daemon", "status")
        assert " served=1 " in status.stdout, status.stdout
    finally:
        stopped = _run(exe, env, "daemon", "stop")
    assert stopped.returncode == 0, stopped.stderr


def test_a_later_run_starts_without_shivs_bootstrap(onefile: tuple[Path, dict[str, str]]) -> None:
    """packaging/onefile_main.py: once unpacked, the file runs rpcctl without shiv's ~20 imports."""
    exe, env = onefile
    assert _run(exe, env, "--version").returncode == 0  # unpacked by now
    python = exe.read_bytes()[:200].split(b"\n", 1)[0].split()[-1].decode()  # the shebang's python3.X
    traced = subprocess.run(
        ["env", "-i", *(f"{k}={v}" for k, v in env.items()), python, "-X", "importtime", str(exe), "--version"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=env["HOME"],
    )  # fmt: skip
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout.startswith("rpcctl ")
    imported = {
        line.split("|")[-1].strip() for line in traced.stderr.splitlines() if line.startswith("import time:")
    }
    assert "rpcctl.cli.app" in imported
    assert "_bootstrap" not in imported
    forced = _run(exe, dict(env, SHIV_FORCE_EXTRACT="1"), "--version")  # a SHIV_* variable: shiv's way
    assert forced.returncode == 0, forced.stderr
