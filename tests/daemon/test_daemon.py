"""`rpcctl daemon`: commands handed to a preloaded process behave as cold ones do.

Each test has a daemon of its own ($RPCCTL_DAEMON_DIR in its tmp_path), started with the real
`rpcctl daemon start` and stopped at the end; the servers are real (grpcio's test service,
a TCP listener that never answers). `served` in `rpcctl daemon status` proves which commands the
daemon ran.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_PROTO, TEST_PROTO_DIR, GrpcServer
from tests.daemon.conftest import ECHO, RPCCTL, Daemon, limited, wait_for, wait_gone


def test_a_call_through_the_daemon_prints_and_exits_as_a_cold_one(
    daemon: Daemon, grpc_server: GrpcServer
) -> None:
    args = ("call", grpc_server.target, ECHO, "--protocol", "grpc", "-d", '{"message": "hi"}')
    cold = daemon.run(*args, daemon=False)
    warm = daemon.run(*args)
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert '"message":"hi"' in warm.stdout
    assert daemon.served() == 1


def test_an_error_keeps_its_exit_status_and_message(daemon: Daemon, grpc_server: GrpcServer) -> None:
    args = ("call", grpc_server.target, "rpcctl.test.v1.TestService/NoSuchMethod", "--protocol", "grpc")
    cold = daemon.run(*args, daemon=False)
    warm = daemon.run(*args)
    assert cold.returncode != 0
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert daemon.served() == 1


def test_stdin_and_a_relative_schema_path_are_the_clients(
    daemon: Daemon, grpc_server: GrpcServer, tmp_path: Path
) -> None:
    relative = os.path.relpath(TEST_PROTO, TEST_PROTO_DIR)
    args = (
        "call",
        grpc_server.target,
        ECHO,
        "--protocol",
        "grpc",
        "--proto",
        relative,
        "-I",
        ".",
        "-d",
        "@-",
    )
    warm = daemon.run(*args, input='{"message": "from stdin"}', cwd=TEST_PROTO_DIR)
    assert warm.returncode == 0, warm.stderr
    assert '"message":"from stdin"' in warm.stdout
    assert daemon.served() == 1


def test_ctrl_c_reaches_the_worker(daemon: Daemon, silent_port: int) -> None:
    client = subprocess.Popen(
        [*RPCCTL, "call", f"http://127.0.0.1:{silent_port}", ECHO, "--proto", str(TEST_PROTO),
         "-I", str(TEST_PROTO_DIR), "--timeout", "60s"],
        env=daemon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: daemon.status().get("active") == "1")
        client.send_signal(signal.SIGINT)
        _, stderr = client.communicate(timeout=30)
    finally:
        client.kill()
    assert client.returncode == 130
    assert "interrupted" in stderr


def test_a_killed_client_ends_its_worker(daemon: Daemon, silent_port: int) -> None:
    client = subprocess.Popen(
        [*RPCCTL, "call", f"http://127.0.0.1:{silent_port}", ECHO, "--proto", str(TEST_PROTO),
         "-I", str(TEST_PROTO_DIR), "--timeout", "60s"],
        env=daemon.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(lambda: daemon.status().get("active") == "1")
    client.kill()
    client.wait(10)
    wait_for(lambda: daemon.status().get("active") == "0")


def test_a_directory_others_may_enter_is_not_used(tmp_path: Path, grpc_server: GrpcServer) -> None:
    directory = tmp_path / "open"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    untrusted = Daemon(directory)
    result = untrusted.run("daemon", "start", daemon=False)
    assert result.returncode == 1
    assert "only this user may enter" in result.stderr
    assert list(directory.iterdir()) == []


def test_it_ends_by_itself_when_idle(tmp_path: Path) -> None:
    directory = tmp_path / "idle"
    directory.mkdir(mode=0o700)
    idle = Daemon(directory)
    assert idle.run("daemon", "start", "--idle", "1s", daemon=False).returncode == 0
    pid = int(idle.status()["pid"])
    wait_gone(pid)
    assert not [p for p in directory.iterdir() if p.suffix == ".sock"]
    assert idle.run("daemon", "status", daemon=False).returncode == 1


def test_off_runs_cold_and_auto_starts_one(tmp_path: Path, grpc_server: GrpcServer) -> None:
    directory = tmp_path / "auto"
    directory.mkdir(mode=0o700)
    auto = Daemon(directory)
    args = ("call", grpc_server.target, ECHO, "--protocol", "grpc")
    assert auto.run(*args, daemon=False).returncode == 0
    assert auto.status() == {}
    auto.env["RPCCTL_DAEMON"] = "auto"
    assert auto.run(*args).returncode == 0  # cold, and a daemon starts for the next one
    wait_for(lambda: auto.status() != {})
    pid = int(auto.status()["pid"])
    try:
        assert auto.run(*args).returncode == 0
        assert auto.served() == 1
    finally:
        auto.run("daemon", "stop", daemon=False)
        wait_gone(pid)


def test_the_client_imports_nothing_heavy(daemon: Daemon, grpc_server: GrpcServer) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rpcctl", "call", grpc_server.target, ECHO, "--protocol", "grpc"],
        capture_output=True, text=True, timeout=60, env=daemon.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    loaded = {
        line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }
    assert "rpcctl.daemon.client" in loaded
    assert not loaded & {"typing", "typer", "asyncio", "google.protobuf", "rpcctl.cli.call", "json", "re"}
    assert daemon.served() == 1


def test_a_terminal_stays_a_terminal(daemon: Daemon, grpc_server: GrpcServer) -> None:
    """On a pty the worker colours and indents the answer as a cold process does."""
    import pty

    def on_a_pty(use_daemon: bool) -> bytes:
        main, sub = pty.openpty()
        env = dict(daemon.env) if use_daemon else dict(daemon.env, RPCCTL_DAEMON="off")
        env.pop("NO_COLOR", None)
        args = ("call", grpc_server.target, ECHO, "--protocol", "grpc", "-d", '{"message": "tty"}')
        process = subprocess.Popen(
            [*RPCCTL, *args], stdout=sub, stderr=sub, stdin=subprocess.DEVNULL, env=env
        )
        os.close(sub)
        output = b""
        try:
            while True:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # EIO: every writer has closed the pty
                    break
                if not chunk:
                    break
                output += chunk
        finally:
            os.close(main)
            process.wait(30)
        assert process.returncode == 0, output
        return output

    cold = on_a_pty(False)
    warm = on_a_pty(True)
    assert b"\x1b[" in cold  # colour: the answer went to a terminal
    assert warm == cold
    assert daemon.served() == 1


def test_a_changed_source_file_is_noticed(tmp_path: Path) -> None:
    from rpcctl.daemon.preload import changed

    source = tmp_path / "module.py"
    source.write_text("x = 1\n")
    stamps = {str(source): source.stat().st_mtime_ns}
    assert not changed(stamps)
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1_000_000))
    assert changed(stamps)
    source.unlink()
    assert changed({str(source): 0})


@pytest.mark.parametrize(
    ("variables", "served"),
    [
        ({"LC_ALL": "C", "PYTHONUTF8": "0"}, 0),  # ASCII arguments: the daemon's are UTF-8, so cold
        ({"PYTHONIOENCODING": "latin-1"}, 1),
        ({"PYTHONUNBUFFERED": "1"}, 1),  # stdout and stderr interleave line by line into one file
    ],
)
def test_the_clients_encodings_and_buffering_are_kept(
    daemon: Daemon, grpc_server: GrpcServer, variables: dict[str, str], served: int
) -> None:
    """The worker decoded arguments and wrote its streams as the daemon's interpreter would
    (UTF-8, buffered), not as the client's: a cold run refused a non-ASCII message under
    LC_ALL=C PYTHONUTF8=0 that the daemon sent."""
    daemon.env.update(variables)
    args = ("call", grpc_server.target, ECHO, "--protocol", "grpc", "-d", '{"message": "h\u00e9llo"}', "-v")
    both = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "timeout": 60}
    cold_env = dict(daemon.env, RPCCTL_DAEMON="off")
    subprocess.run([*RPCCTL, *args], env=cold_env, **both)  # type: ignore[call-overload]  # caches the schema
    cold = subprocess.run([*RPCCTL, *args], env=cold_env, **both)  # type: ignore[call-overload]
    warm = subprocess.run([*RPCCTL, *args], env=daemon.env, **both)  # type: ignore[call-overload]
    timings = re.compile(rb"^\* time: .*$", re.MULTILINE)
    assert (warm.returncode, timings.sub(b"", warm.stdout)) == (
        cold.returncode,
        timings.sub(b"", cold.stdout),
    )
    assert daemon.served() == served


def test_a_client_with_another_python_path_runs_cold(
    daemon: Daemon, grpc_server: GrpcServer, tmp_path: Path
) -> None:
    """$PYTHONPATH chooses the modules a cold run imports (another protobuf, say): a daemon
    imported those of its own start."""
    path = os.pathsep.join(filter(None, [daemon.env.get("PYTHONPATH"), str(tmp_path)]))
    result = subprocess.run(
        [*RPCCTL, "call", grpc_server.target, ECHO, "--protocol", "grpc"],
        env=dict(daemon.env, PYTHONPATH=path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert daemon.served() == 0


def test_the_console_script_and_python_m_share_a_daemon(daemon: Daemon, grpc_server: GrpcServer) -> None:
    """`rpcctl` (its shebang names python3) and `python -m rpcctl` are one installation: they
    looked for two daemons (sys.executable told them apart)."""
    script = Path(sys.executable).with_name("rpcctl")
    if not script.exists():
        pytest.skip("no console script beside this Python")
    result = subprocess.run(
        [str(script), "call", grpc_server.target, ECHO, "--protocol", "grpc"],
        env=daemon.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert daemon.served() == 1


def test_the_clients_resource_limits_hold(daemon: Daemon, grpc_server: GrpcServer, tmp_path: Path) -> None:
    """Under `ulimit -f 1` a cold --export-protoset fails at 1 KiB ("File too large"): the
    worker wrote the whole file under the daemon's limits."""

    def export(use: str) -> tuple[int, str, int]:
        out = tmp_path / f"set-{use or 'daemon'}.pb"
        args = ["describe", grpc_server.target, "rpcctl.test.v1.TestService", "--protocol", "grpc"]
        result = subprocess.run(
            limited([*RPCCTL, *args, "--export-protoset", str(out)], fsize=1024),
            env=dict(daemon.env, RPCCTL_DAEMON=use),
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.returncode, result.stderr.replace(out.name, "FILE"), out.stat().st_size

    cold = export("off")
    assert cold[0] != 0
    assert export("") == cold
    assert daemon.served() == 1
