"""Shell completion: the script `rpcctl completion bash` prints, driven in a real bash.

Each test sources the script, sets COMP_LINE/COMP_POINT/COMP_WORDS/COMP_CWORD the way bash
does before calling a completion function, calls it, and reads COMPREPLY.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GrpcServer
from tests.support.external import unavailable
from tests.support.schema import TEST_PROTO, TEST_PROTO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")

# Nothing listens on port 9 (discard) here; completion must not try it anyway.
TARGET = "http://127.0.0.1:9"


def _env(tmp_path: Path) -> dict[str, str]:
    bindir = Path(sys.executable).parent
    return {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RPCCTL_CACHE_DIR": str(tmp_path / "cache"),
    }


def _script(shell: str) -> subprocess.CompletedProcess[str]:
    """`rpcctl completion SHELL`, run as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "rpcctl", "completion", shell],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _bash_complete(line: str, tmp_path: Path) -> list[str]:
    """COMPREPLY for `line` with the cursor at its end, from the sourced completion script."""
    env = _env(tmp_path)
    script = _script("bash").stdout
    (tmp_path / "rpcctl-completion.bash").write_text(script)
    driver = (
        f"source {tmp_path / 'rpcctl-completion.bash'}\n"
        'read -r -a COMP_WORDS <<< "$LINE"\n'
        'if [[ "$LINE" == *" " ]]; then COMP_WORDS+=(""); fi\n'
        "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
        'COMP_LINE="$LINE"; COMP_POINT=${#LINE}\n'
        "_rpcctl_complete rpcctl\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    # The script calls `rpcctl`: a wrapper that is this checkout's, outside any venv's PATH.
    wrapper = tmp_path / "bin" / "rpcctl"
    wrapper.parent.mkdir(exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m rpcctl "$@"\n')
    wrapper.chmod(0o755)
    env["PATH"] = f"{wrapper.parent}:{env['PATH']}"
    env["LINE"] = line
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", driver],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_script_is_registered_for_rpcctl(tmp_path: Path) -> None:
    script = _script("bash").stdout
    done = subprocess.run(
        ["bash", "--norc", "-c", f"{script}\ncomplete -p rpcctl"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.strip() == "complete -o default -F _rpcctl_complete rpcctl"


def test_commands(tmp_path: Path) -> None:
    assert _bash_complete("rpcctl de", tmp_path) == ["describe", "demo"]


def test_options(tmp_path: Path) -> None:
    assert _bash_complete("rpcctl call --proto", tmp_path) == ["--protocol", "--proto", "--protoset"]


def test_shells(tmp_path: Path) -> None:
    assert _bash_complete("rpcctl completion ", tmp_path) == ["bash", "zsh", "fish"]


def test_methods_from_a_proto_file(tmp_path: Path) -> None:
    line = f"rpcctl call --proto {TEST_PROTO} -I {TEST_PROTO_ROOT} {TARGET} rpcctl.test.v1.TestService/C"
    assert _bash_complete(line, tmp_path) == [
        "rpcctl.test.v1.TestService/Count",
        "rpcctl.test.v1.TestService/Chat",
    ]


def test_all_methods_after_the_target(tmp_path: Path) -> None:
    line = f"rpcctl call --proto {TEST_PROTO} -I {TEST_PROTO_ROOT} {TARGET} "
    assert len(_bash_complete(line, tmp_path)) == 6


def test_list_services(tmp_path: Path) -> None:
    line = f"rpcctl list --proto {TEST_PROTO} -I {TEST_PROTO_ROOT} {TARGET} "
    assert _bash_complete(line, tmp_path) == ["rpcctl.test.v1.TestService"]


def test_describe_symbols(tmp_path: Path) -> None:
    line = f"rpcctl describe --proto {TEST_PROTO} -I {TEST_PROTO_ROOT} {TARGET} rpcctl.test.v1.TestService."
    assert _bash_complete(line, tmp_path) == [
        "rpcctl.test.v1.TestService.Echo",
        "rpcctl.test.v1.TestService.Lookup",
        "rpcctl.test.v1.TestService.Fail",
        "rpcctl.test.v1.TestService.Count",
        "rpcctl.test.v1.TestService.Sum",
        "rpcctl.test.v1.TestService.Chat",
    ]


def test_methods_from_a_reflected_schema(tmp_path: Path, grpc_server: GrpcServer) -> None:
    target = grpc_server.target
    line = f"rpcctl call --protocol grpc {target} rpcctl.test.v1.TestService/"
    # Nothing cached yet: completion does not ask the server, so it has nothing to offer.
    assert _bash_complete(line, tmp_path) == []
    listed = subprocess.run(
        [sys.executable, "-m", "rpcctl", "list", target, "--protocol", "grpc"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path),
    )
    assert listed.returncode == 0, listed.stderr
    assert _bash_complete(line, tmp_path) == [
        "rpcctl.test.v1.TestService/Echo",
        "rpcctl.test.v1.TestService/Lookup",
        "rpcctl.test.v1.TestService/Fail",
        "rpcctl.test.v1.TestService/Count",
        "rpcctl.test.v1.TestService/Sum",
        "rpcctl.test.v1.TestService/Chat",
    ]
    assert _bash_complete(f"rpcctl describe --protocol grpc {target} rpcctl.test.v1.EchoR", tmp_path) == [
        "rpcctl.test.v1.EchoRequest",
        "rpcctl.test.v1.EchoResponse",
    ]


def test_unknown_schema_file_completes_nothing(tmp_path: Path) -> None:
    line = f"rpcctl call --protoset {tmp_path / 'missing.binpb'} {TARGET} "
    assert _bash_complete(line, tmp_path) == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    result = _script(shell)
    assert result.returncode == 0, result.stderr
    assert "_RPCCTL_COMPLETE=" + shell in result.stdout


def test_unknown_shell_is_a_usage_error() -> None:
    result = _script("tcsh")
    assert result.returncode == 2
    assert "'tcsh' is not one of bash, zsh, fish" in result.stderr
    assert "Traceback" not in result.stderr


def test_option_values(tmp_path: Path) -> None:
    assert _bash_complete("rpcctl call --protocol ", tmp_path) == ["connect", "grpc", "grpc-web"]
    assert _bash_complete("rpcctl describe --color a", tmp_path) == ["auto", "always"]


def _fish_complete(line: str, tmp_path: Path) -> list[str]:
    """What fish offers for `line` (`complete -C`), with the script of `rpcctl completion fish`."""
    fish = shutil.which("fish")
    if fish is None:
        unavailable("fish is not installed (.ci/run installs it)")
    script = tmp_path / "rpcctl.fish"
    script.write_text(_script("fish").stdout)
    wrapper = tmp_path / "bin" / "rpcctl"
    wrapper.parent.mkdir(exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m rpcctl "$@"\n')
    wrapper.chmod(0o755)
    (tmp_path / "a-file.txt").write_text("")
    env = _env(tmp_path)
    env["PATH"] = f"{wrapper.parent}:{env['PATH']}"
    env["LINE"] = line
    result = subprocess.run(
        [fish, "--no-config", "-c", f'source {script}; complete -C "$LINE"'],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return [row.split("\t")[0] for row in result.stdout.splitlines() if row]


def test_fish_offers_methods_without_file_names(tmp_path: Path) -> None:
    line = f"rpcctl call --proto {TEST_PROTO} -I {TEST_PROTO_ROOT} {TARGET} rpcctl.test.v1.TestService/C"
    assert sorted(_fish_complete(line, tmp_path)) == [
        "rpcctl.test.v1.TestService/Chat",
        "rpcctl.test.v1.TestService/Count",
    ]
    assert _fish_complete("rpcctl call --protocol ", tmp_path) == ["connect", "grpc", "grpc-web"]


def test_fish_offers_file_names_for_a_file_option(tmp_path: Path) -> None:
    assert _fish_complete("rpcctl call --protoset a-", tmp_path) == ["a-file.txt"]


def test_values_listed_in_a_metavar_complete(tmp_path: Path) -> None:
    assert _bash_complete("rpcctl bench -O ", tmp_path) == ["summary", "json", "csv", "html"]
    assert _bash_complete("rpcctl call --format t", tmp_path) == ["text"]
    assert _bash_complete("rpcctl bench --protocol grpc-", tmp_path) == ["grpc-web"]
    assert _bash_complete("rpcctl bench --protocol grpc,c", tmp_path) == ["grpc,connect"]


def test_a_groups_commands(tmp_path: Path) -> None:
    assert _bash_complete("rpcctl cache ", tmp_path) == ["clear", "dir"]


def test_fish_completes_an_option_value_after_equals(tmp_path: Path) -> None:
    assert _fish_complete("rpcctl call --protocol=grpc", tmp_path) == [
        "--protocol=grpc",
        "--protocol=grpc-web",
    ]


def test_a_short_method_name_completes_to_its_unique_suffix(tmp_path: Path) -> None:
    """`call` takes any unambiguous suffix (Echo): typed from its start, it completes so."""
    schema = f"--proto {TEST_PROTO} -I {TEST_PROTO_ROOT} {TARGET}"
    assert _bash_complete(f"rpcctl call {schema} E", tmp_path) == ["Echo"]
    assert _bash_complete(f"rpcctl call {schema} C", tmp_path) == ["Count", "Chat"]
    assert _bash_complete(f"rpcctl call {schema} TestService/S", tmp_path) == ["TestService/Sum"]
    assert _bash_complete(f"rpcctl describe {schema} EchoR", tmp_path) == ["EchoRequest", "EchoResponse"]
