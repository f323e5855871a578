"""`rpcctl daemon` against what a careless or hostile local user does: stuck and garbage
connections, a daemon killed under a running call, descriptors sent where none belong, Ctrl-Z.

Real daemons (`rpcctl daemon start`), real clients (`python -m rpcctl`), a real gRPC server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from tests.conftest import GrpcServer
from tests.daemon.conftest import ECHO, RPCCTL, Daemon, children, socket_of, state, wait_for


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
    assert len(os.listdir(f"/proc/{pid}/fd")) == before


def test_a_killed_daemon_lets_a_running_call_finish_and_report(
    daemon: Daemon, grpc_server: GrpcServer
) -> None:
    """kill -9 of the daemon mid-call used to make the client exit 1 at once ("ended before its
    worker reported") while the orphaned worker went on printing after it."""
    pid = int(daemon.status()["pid"])
    args = (
        "call",
        grpc_server.target,
        ECHO,
        "--protocol",
        "grpc",
        "-d",
        '{"message": "late", "delayMs": 1500}',
    )
    client = subprocess.Popen(
        [*RPCCTL, *args], env=daemon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: daemon.status().get("running") == "1")
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
    args = ("call", grpc_server.target, ECHO, "--protocol", "grpc", "-d", '{"message": "z", "delayMs": 1000}')
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
