"""Start-up: `rpcctl --help` loads no heavy library, and the installed console script works.

Per command, the modules that its `--help`, and a one-off Connect or gRPC call, must not
import: each costs 20-100 ms of every run (issue 14). Proved from `sys.modules` at exit of
a subprocess that runs rpcctl's `main`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcctl.cli.app import COMMANDS as LAZY
from tests.conftest import GrpcServer

# Never on a --help or a one-off Connect/gRPC call with a schema file; rich only where a
# command prints more than plain text (the TUI, bench's live view).
HEAVY = ("grpc", "httpx", "textual", "hypercorn", "rich", "pydantic", "h2", "yaml", "hdrh")
COMMANDS = tuple(LAZY)
ROOT = Path(__file__).resolve().parents[2]


def _loaded_after(
    args: list[str], env: dict[str, str] | None = None
) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The top-level packages (and rpcctl modules) in sys.modules after `rpcctl ARGS`."""
    code = (
        "import atexit, sys\n"
        "def dump():\n"
        "    names = {m.split('.')[0] for m in sys.modules} | {m for m in sys.modules if m.startswith(('rpcctl.', 'google.rpc'))}\n"
        "    print('LOADED', ' '.join(sorted(names)), file=sys.stderr)\n"
        "atexit.register(dump)\n"
        "from rpcctl.cli.app import main\n"
        "main(sys.argv[1:])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
    )
    line = [x for x in result.stderr.splitlines() if x.startswith("LOADED ")][-1]
    return set(line.split()[1:]), result


@pytest.mark.parametrize("flag", ["--help", "-h", "--version"])
def test_root_help_and_version_import_not_even_typer(flag: str) -> None:
    loaded, result = _loaded_after([flag])
    assert result.returncode == 0, result.stderr
    assert sorted(m for m in loaded if m.startswith("rpcctl.cli.")) == ["rpcctl.cli.app"]
    assert sorted(loaded & {*HEAVY, "typer", "click", "asyncio", "google", "dataclasses"}) == []
    if flag == "--version":
        assert result.stdout.startswith("rpcctl 0.")
    else:
        assert all(f"  {name} " in result.stdout for name in COMMANDS)


def _typer_root_help(columns: int) -> str:
    """`rpcctl --help` as typer prints it (the fast path off: the typer app is loaded)."""
    code = "import rpcctl.cli.group\nfrom rpcctl.cli.app import main\nmain(['--help'])\n"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": str(columns)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("columns", [200, 80, 79, 60, 50, 20])
def test_root_help_without_typer_is_typers_to_the_byte(columns: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from rpcctl.cli.app import root_help

    monkeypatch.setenv("COLUMNS", str(columns))
    ours = root_help()
    if columns >= 80:  # the usual width: printed without typer
        assert ours is not None
    if ours is not None:  # narrower: only where the simple layout is click's, else typer prints
        assert ours == _typer_root_help(int(columns))


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_imports_only_its_own_module(command: str) -> None:
    loaded, result = _loaded_after([command, "--help"])
    assert result.returncode == 0, result.stderr
    assert sorted(loaded & {*HEAVY, "google"}) == []
    # The completers are imported by the commands that complete schema names (light: no protobuf).
    others = {entry.module for name, entry in LAZY.items() if name != command} - {"rpcctl.cli.completion"}
    assert sorted(loaded & others) == []


@pytest.fixture(scope="module")
def test_service_url() -> Iterator[str]:
    """rpcctl's server with the test service (Connect, gRPC, gRPC-Web), in a thread; its URL."""
    from tests.support.rpcctl_test_service import rpcctl_test_service

    with rpcctl_test_service() as url:
        yield url


@pytest.fixture(scope="module")
def protoset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(ROOT / "tests" / "interop"))
    from interop_schema import build_descriptor_set

    return build_descriptor_set(tmp_path_factory.mktemp("schema") / "schema.binpb")


@pytest.mark.parametrize(
    "transport", [["--http1"], ["--http2"], ["--protocol", "grpc"], ["--protocol", "grpc-web"]]
)
def test_one_off_call_imports_no_heavy_library(
    test_service_url: str, protoset: Path, transport: list[str]
) -> None:
    args = ["call", test_service_url, "rpcctl.test.v1.TestService/Echo", *transport]
    loaded, result = _loaded_after(
        [*args, "--protoset", str(protoset), "--no-reflect", "-d", '{"message": "hi"}']
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["message"] == "hi"
    assert sorted(loaded & set(HEAVY)) == []
    # A plainly valid command line is read without typer and its click (rpcctl.cli.fastparse).
    assert sorted(loaded & {"typer", "click", "rpcctl.cli.call", "rpcctl.cli.group"}) == []
    # The error renderer loads only when a call fails.
    assert "rpcctl.output.errors" not in loaded
    # A schema file needs no cache (hashlib ~1.5 ms): only reflection and .proto files use it.
    assert sorted(loaded & {"rpcctl.schema.cache", "hashlib"}) == []
    # No server half (its content-type parser lives with the client), no google.rpc.Status
    # (it parses grpc-status-details-bin, which an OK call has not).
    server_side = {"rpcctl.protocols.grpc_server", "rpcctl.protocols.base_server", "google.rpc"}
    assert sorted(loaded & server_side) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["list"], "rpcctl.test.v1.TestService\n"),
        (["describe", "rpcctl.test.v1.TestService.Echo"], "rpc Echo("),
        (["describe", "--template", "rpcctl.test.v1.EchoRequest"], '"message": ""'),
    ],
)
def test_list_and_describe_read_without_typer(protoset: Path, args: list[str], expected: str) -> None:
    loaded, result = _loaded_after([*args, "--protoset", str(protoset)])
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert sorted(loaded & {"typer", "click", *HEAVY}) == []


def test_call_command_annotations_are_objects_not_strings() -> None:
    """typer reads `call`'s ~35 parameter annotations twice at every run: as strings (a
    `from __future__ import annotations` module) each read compiles them again (~2 ms)."""
    from rpcctl.cli.call import call_command

    assert len(call_command.__annotations__) > 30
    assert [name for name, a in call_command.__annotations__.items() if isinstance(a, str)] == []


def test_installed_console_script(grpc_server: GrpcServer) -> None:
    exe = shutil.which("rpcctl")
    assert exe is not None, "the rpcctl console script is not installed (pip install -e .)"
    result = subprocess.run(
        [exe, "call", grpc_server.target, "Echo", "--protocol", "grpc", "-d", '{"message": "sub"}'],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["message"] == "sub"
    # The echo server lists the request metadata it saw: rpcctl's own client, not grpcio's.
    assert any(h.startswith("user-agent: rpcctl/") for h in answer["headers"]), answer["headers"]


def test_python_dash_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rpcctl", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.startswith("rpcctl ")


def test_interrupt_exits_130(grpc_server: GrpcServer) -> None:
    import signal
    import time

    exe = shutil.which("rpcctl")
    assert exe is not None
    proc = subprocess.Popen(
        [exe, "call", grpc_server.target, "Chat", "--protocol", "grpc", "-d", "@-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write('{"message": "first"}\n')
    proc.stdin.flush()
    first = proc.stdout.readline()
    assert json.loads(first)["message"] == "first"
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 130, err
    assert "Traceback" not in err


def test_a_mistyped_command_names_the_lazy_one() -> None:
    loaded, result = _loaded_after(["cal", "x"])
    assert result.returncode == 2
    assert "no such command 'cal' (did you mean call?)" in result.stderr
    assert "rpcctl.cli.call" not in loaded


def test_one_off_call_ends_without_teardown_yet_flushes_everything(
    test_service_url: str, protoset: Path, tmp_path: Path
) -> None:
    """A one-off call's process ends with os._exit once its output is out (rpcctl.cli.app.
    _quick_exit): a 1 MB answer through a pipe arrives whole and the atexit handlers ran."""
    big = "x" * 1_000_000
    method = "rpcctl.test.v1.TestService/Echo"
    flags = ["--protoset", str(protoset), "--no-reflect", "--max-msg-size", "4MB"]
    (tmp_path / "big.json").write_text(json.dumps({"message": big}))
    loaded, result = _loaded_after(
        ["call", test_service_url, method, *flags, "-d", f"@{tmp_path / 'big.json'}"]
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert json.loads(result.stdout)["message"] == big
    assert "rpcctl.cli.call_run" in loaded  # the atexit handler's report


def test_one_off_call_keeps_its_exit_status_and_message(test_service_url: str, protoset: Path) -> None:
    from tests.support.cli import run_cli

    args = ["call", test_service_url, "rpcctl.test.v1.TestService/Nope", "--protoset", str(protoset)]
    _, quick = _loaded_after([*args, "--no-reflect"])
    in_process = run_cli(*args, "--no-reflect")
    assert quick.returncode == in_process.exit_code == 2
    assert quick.stderr.splitlines()[:-1] == in_process.stderr.splitlines()


@pytest.mark.parametrize(
    ("method", "data", "status", "message"),
    [
        ("Echo", '{"message": "hi"}', 0, ""),
        ("Nope", "{}", 2, "error: "),
        ("Fail", '{"code": 3, "message": "no"}', 64 + 3, "no"),
        ("Echo", '{"nope": 1}', 2, "nope"),
    ],
)
def test_a_call_read_by_typer_or_without_it_ends_alike(
    test_service_url: str, protoset: Path, method: str, data: str, status: int, message: str
) -> None:
    """The same call with and without `--` (which leaves the command line to typer): the same
    output, message and exit status, whichever reads it."""
    from tests.support.cli import run_cli

    options = ["--protoset", str(protoset), "--no-reflect", "-d", data]
    target = [test_service_url, f"rpcctl.test.v1.TestService/{method}"]
    runs = []
    for args in ([*options, *target], [*options, "--", *target]):
        loaded, result = _loaded_after(["call", *args])
        assert ("typer" in loaded) == ("--" in args)
        assert result.returncode == status, result.stderr
        assert message in result.stderr
        in_process = run_cli("call", *args)
        assert in_process.exit_code == status
        runs.append((result.stdout, result.stderr.splitlines()[:-1], in_process.stdout, in_process.stderr))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("protocol", ["connect", "grpc"])
def test_a_call_by_reflection_reads_no_package_metadata(
    test_service_url: str, tmp_path: Path, protocol: str
) -> None:
    """The reflection cache's key holds no grpcio-tools version: importlib.metadata (and the
    email and csv packages it loads) cost ~15 ms; first and cached runs alike."""
    env = {**os.environ, "RPCCTL_CACHE_DIR": str(tmp_path)}
    args = ["call", test_service_url, "rpcctl.test.v1.TestService/Echo", "--protocol", protocol]
    for _ in ("first", "cached"):
        loaded, result = _loaded_after([*args, "-d", '{"message": "hi"}'], env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["message"] == "hi"
        assert sorted(loaded & {"email", "csv", *HEAVY}) == []
    assert any(tmp_path.rglob("*.json"))  # the second run was served from the cache
