"""`rpcctl daemon` against what a careless or hostile local user does: stuck and garbage
connections, a daemon killed under a running call, descriptors sent where none belong, Ctrl-Z.

Real daemons (`rpcctl daemon start`), real clients (`python -m rpcctl`), a real gRPC server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import GrpcServer
from tests.daemon.conftest import (
    ECHO,
    RPCCTL,
    Daemon,
    children,
    echo,
    limited,
    socket_of,
    state,
    wait_for,
    wait_gone,
)


def test_a_stuck_connection_neither_blocks_a_call_nor_makes_it_run_twice(
    daemon: Daemon, grpc_server: GrpcServer
) -> None:
    """Connections that send nothing (or half a request) used to hold the single-threaded
    daemon for 2 s each: the waiting client gave up and ran the call itself, and the daemon,
    reaching the request later, ran it a second time onto the client's (inherited) stdout."""
    pid = int(daemon.status()["pid"])
    path = socket_of(daemon.directory)
    stuck = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]
    try:
        for sock in stuck:
            sock.connect(path)
        stuck[0].sendall(b"\0\0\0\x40rpcctl-daemon/1\0run")  # a request cut short
        warm = daemon.run("call", grpc_server.target, ECHO, "--protocol", "grpc", "-d", '{"message": "once"}')
        assert warm.returncode == 0, warm.stderr
        assert warm.stdout.count('"message":"once"') == 1, warm.stdout
        assert daemon.served() == 1
        wait_for(lambda: children(pid) == [])  # no worker left unreaped (a zombie)
    finally:
        for sock in stuck:
            sock.close()


def test_garbage_and_a_huge_length_are_refused_and_the_daemon_serves_on(
    daemon: Daemon, grpc_server: GrpcServer
) -> None:
    path = socket_of(daemon.directory)
    for message in (b"GET / HTTP/1.1\r\n\r\n", b"\xff\xff\xff\xffxx", b"\0\0\0\x05hello", b""):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(path)
            sock.sendall(message)
            sock.shutdown(socket.SHUT_WR)
            assert not sock.recv(256).startswith(b"ok")
    warm = daemon.run("call", grpc_server.target, ECHO, "--protocol", "grpc")
    assert warm.returncode == 0, warm.stderr
    assert daemon.served() == 1


def test_descriptors_sent_with_a_status_request_are_not_kept(daemon: Daemon) -> None:
    from rpcctl.daemon.client import encode_request
    from rpcctl.daemon.place import install_key

    pid = int(daemon.status()["pid"])
    before = len(os.listdir(f"/proc/{pid}/fd"))
    for _ in range(20):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock, open(os.devnull) as null:
            sock.settimeout(10)
            sock.connect(socket_of(daemon.directory))
            socket.send_fds(sock, [encode_request("status", install_key())], [null.fileno()] * 3)
            assert sock.recv(256).startswith(b"pid=")
    wait_for(lambda: len(os.listdir(f"/proc/{pid}/fd")) == before)  # each closed once answered


def test_a_killed_daemon_lets_a_running_call_finish_and_report(
    daemon: Daemon, grpc_server: GrpcServer
) -> None:
    """kill -9 of the daemon mid-call used to make the client exit 1 at once ("ended before its
    worker reported") while the orphaned worker went on printing after it."""
    pid = int(daemon.status()["pid"])
    args = echo(grpc_server.target, "late", 1500)
    client = subprocess.Popen(
        [*RPCCTL, *args], env=daemon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: daemon.status().get("active") == "1")
        os.kill(pid, signal.SIGKILL)
        stdout, stderr = client.communicate(timeout=30)
    finally:
        client.kill()
        client.wait(10)
    assert (client.returncode, stderr) == (0, "")
    assert '"message":"late"' in stdout


def test_ctrl_z_stops_the_worker_and_fg_resumes_it(
    daemon: Daemon, grpc_server: GrpcServer, tmp_path: Path
) -> None:
    """SIGTSTP stopped only the client: the worker went on reading and writing the terminal."""
    pid = int(daemon.status()["pid"])
    args = echo(grpc_server.target, "z", 1000)
    client = subprocess.Popen(
        [*RPCCTL, *args], env=daemon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: len(children(pid)) == 1)
        (worker,) = children(pid)
        client.send_signal(signal.SIGTSTP)
        wait_for(lambda: state(client.pid) == "T")
        wait_for(lambda: state(worker) == "T")
        client.send_signal(signal.SIGCONT)
        stdout, stderr = client.communicate(timeout=30)
    finally:
        client.kill()
        client.wait(10)
    assert client.returncode == 0, stderr
    assert '"message":"z"' in stdout


def test_calls_leave_nothing_in_the_daemons_log(daemon: Daemon, grpc_server: GrpcServer) -> None:
    """A client closing as its worker ends made the daemon handle the closed connection of a
    reaped worker (a traceback per call in daemon.log, and a SIGTERM aimed at a reaped pid)."""
    for _ in range(8):
        assert daemon.run("call", grpc_server.target, ECHO, "--protocol", "grpc").returncode == 0
    wait_for(lambda: daemon.status().get("active") == "0")
    assert "Traceback" not in (daemon.directory / "daemon.log").read_text()


def test_two_starts_at_once_make_one_daemon(tmp_path: Path) -> None:
    """Both saw no daemon and launched one: the second failed (address in use) or unlinked the
    first's socket, leaving a daemon no one could reach or stop until its idle time passed."""
    directory = tmp_path / "twice"
    directory.mkdir(mode=0o700)
    twice = Daemon(directory)
    env = dict(twice.env, RPCCTL_DAEMON="off")
    starts = [
        subprocess.Popen(
            [*RPCCTL, "daemon", "start", "--idle", "2m"], env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        results = [(start.communicate(timeout=60)[1], start.returncode) for start in starts]
    finally:
        for start in starts:
            start.kill()
            start.wait(10)
    daemons = _daemons_serving(directory)
    try:
        assert [code for _, code in results] == [0, 0], results
        assert len(daemons) == 1, (daemons, results)
    finally:
        _end_all(twice, daemons)


def _end_all(daemon: Daemon, pids: list[int]) -> None:
    """Stop `daemon`, and end every process of `pids` (the ones no stop can reach)."""
    daemon.run("daemon", "stop", daemon=False)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in pids:
        wait_gone(pid)


def _daemons_serving(directory: Path, marker: bytes = b"_RPCCTL_DAEMON_SERVE=") -> list[int]:
    """The daemon processes started for `directory` (by a variable of their environment that
    starts with `marker` and names it; RPCCTL_DAEMON_DIR= finds its starters as well)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ:
                variables = environ.read().split(b"\0")
        except OSError:
            continue
        if any(v.startswith(marker) and str(directory).encode() in v for v in variables):
            found.append(int(entry))
    return found


def test_concurrent_auto_calls_start_one_daemon(tmp_path: Path, grpc_server: GrpcServer) -> None:
    """Ten calls at once with RPCCTL_DAEMON=auto and no daemon started ten daemons, nine of
    them unreachable until their idle time passed (30 minutes by default)."""
    directory = tmp_path / "auto"
    directory.mkdir(mode=0o700)
    auto = Daemon(directory)
    env = dict(auto.env, RPCCTL_DAEMON="auto")
    calls = [
        subprocess.Popen([*RPCCTL, *echo(grpc_server.target, "auto")], env=env, stdout=subprocess.DEVNULL)
        for _ in range(6)
    ]
    for call in calls:
        assert call.wait(60) == 0
    wait_for(lambda: auto.status() != {})
    everyone = b"RPCCTL_DAEMON_DIR="  # the daemons and the detached `daemon start`s
    wait_for(lambda: len(_daemons_serving(directory, everyone)) == len(_daemons_serving(directory)))
    daemons = _daemons_serving(directory)
    try:
        assert len(daemons) == 1
    finally:
        _end_all(auto, daemons)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_a_client_ends_by_the_signal_that_ended_its_worker(
    daemon: Daemon, grpc_server: GrpcServer, number: int
) -> None:
    """A cold call killed by SIGTERM is reported killed by it (-15 to its parent, not exit 143):
    the client used to exit 128+N itself."""
    args = echo(grpc_server.target, "x", 3000)
    client = subprocess.Popen(
        [*RPCCTL, *args], env=daemon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for(lambda: daemon.status().get("active") == "1")
        client.send_signal(number)
        _, stderr = client.communicate(timeout=30)
    finally:
        client.kill()
        client.wait(10)
    assert (client.returncode, stderr) == (-number, b"")


def test_a_daemon_that_refuses_this_rpcctl_is_not_taken_for_running(
    tmp_path: Path, grpc_server: GrpcServer
) -> None:
    """A daemon of another protocol (an older rpcctl at the same place and version) answers
    `no ...` to everything: `status` printed "running: no ...", `start` said it already ran."""
    import threading

    from rpcctl.daemon.place import DIR_ENV, socket_path

    directory = tmp_path / "old"
    directory.mkdir(mode=0o700)
    other = Daemon(directory)
    os.environ[DIR_ENV] = str(directory)
    try:
        path = socket_path()
    finally:
        del os.environ[DIR_ENV]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    listener.settimeout(0.2)
    done = threading.Event()

    def refuse() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"no not an rpcctl daemon request\n")

    thread = threading.Thread(target=refuse)
    thread.start()
    try:
        status = other.run("daemon", "status", daemon=False)
        assert (status.returncode, status.stdout) == (1, "no rpcctl daemon is running\n")
        started = other.run("daemon", "start", "--idle", "1m", daemon=False)
        assert started.returncode == 0, started.stderr
        assert "started" in started.stderr
    finally:
        done.set()
        thread.join(10)
        listener.close()
        pid = int(other.status().get("pid", "0"))
        other.run("daemon", "stop", daemon=False)
        if pid:
            wait_gone(pid)


def test_a_relative_daemon_dir_is_refused(tmp_path: Path) -> None:
    """The daemon runs in /, so RPCCTL_DAEMON_DIR=relative/dir put its socket under /relative
    where no status, stop or call (each looking from its own directory) ever found it."""
    relative = Daemon(Path("relative") / "dir")
    result = relative.run("daemon", "start", "--idle", "1m", daemon=False, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "error: $RPCCTL_DAEMON_DIR must be an absolute path, not relative/dir\n"
    assert not (tmp_path / "relative").exists()
    call = relative.run("call", "http://127.0.0.1:1", ECHO, cwd=tmp_path)  # runs cold, as if unset
    assert "Traceback" not in call.stderr


def test_answer_lines_arriving_together_are_read_one_by_one() -> None:
    """A fast worker's `ok` and `exit`, or its `exit` and the daemon's, can arrive in one read:
    the client took b"0\\nexit 0" for a number and ended with a traceback."""
    from rpcctl.daemon.client import Lines

    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"ok 123\nexit 0\nexit 0\n")
        theirs.shutdown(socket.SHUT_WR)
        lines = Lines(ours)
        assert [lines.next() for _ in range(4)] == [b"ok 123", b"exit 0", b"exit 0", b""]


def test_a_stopped_worker_whose_client_is_killed_ends(daemon: Daemon, grpc_server: GrpcServer) -> None:
    """Ctrl-Z, then kill -9 of the client: the SIGTERM the daemon sends a stopped worker waited
    for a SIGCONT that never came (a stopped worker for ever, and a daemon never idle)."""
    pid = int(daemon.status()["pid"])
    args = echo(grpc_server.target, "z", 3000)
    client = subprocess.Popen(
        [*RPCCTL, *args], env=daemon.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: len(children(pid)) == 1)
        (worker,) = children(pid)
        client.send_signal(signal.SIGTSTP)
        wait_for(lambda: state(worker) == "T")
    finally:
        client.kill()
        client.wait(10)
    wait_for(lambda: daemon.status().get("active") == "0")
    assert state(worker) == ""


def test_a_large_environment_comes_through_in_pieces(daemon: Daemon, grpc_server: GrpcServer) -> None:
    """A request of ~1.2 MB arrives over many reads of the non-blocking connection."""
    daemon.env.update({f"RPCCTL_TEST_BULK_{n}": "x" * 100_000 for n in range(12)})
    warm = daemon.run("call", grpc_server.target, ECHO, "--protocol", "grpc", "-d", '{"message": "bulk"}')
    assert warm.returncode == 0, warm.stderr
    assert '"message":"bulk"' in warm.stdout
    assert daemon.served() == 1


def test_the_worker_runs_at_the_clients_nice_value(daemon: Daemon, grpc_server: GrpcServer) -> None:
    """`nice -n 7 rpcctl call ...` ran the worker at the daemon's priority."""
    pid = int(daemon.status()["pid"])
    args = echo(grpc_server.target, "n", 1500)
    client = subprocess.Popen(
        limited([*RPCCTL, *args], nice=7), env=daemon.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: len(children(pid)) == 1)
        (worker,) = children(pid)
        assert os.getpriority(os.PRIO_PROCESS, worker) == os.getpriority(os.PRIO_PROCESS, client.pid)
        assert client.wait(30) == 0
    finally:
        client.kill()
        client.wait(10)


def test_an_idle_time_of_zero_is_a_usage_error(tmp_path: Path) -> None:
    """`--idle 0s` printed "started" for a daemon that had already ended."""
    directory = tmp_path / "zero"
    directory.mkdir(mode=0o700)
    zero = Daemon(directory)
    result = zero.run("daemon", "start", "--idle", "0s", daemon=False)
    assert (result.returncode, result.stderr) == (2, "error: --idle must be longer than 0s\n")
    assert zero.status() == {}
