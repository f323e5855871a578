"""The processes under attack: `rpcctl serve`, and the recording proxy in front of it.

Each runs in a subprocess of its own so that its resident memory (``VmRSS`` of
``/proc/PID/status``) is its own; stderr is collected by a thread so that it never blocks.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.server.h2_raw import h2_request
from tests.support.schema import REPO_ROOT

READY = re.compile(r"serving \S+ on http://([\d.]+):(\d+)")
PING = "/pkg.proto.runner.v1.RunnerService/Ping"
START_TIMEOUT_S = 60
UNAVAILABLE = 14
EMPTY_MESSAGE = b"\0\0\0\0\0"  # a gRPC envelope: uncompressed, length 0


class Target:
    """A running server process: its address, its RSS and what it wrote on stderr."""

    def __init__(self, argv: list[str], *, ready_on_stdout: bool = False) -> None:
        self.process = subprocess.Popen(
            argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.address: tuple[str, int] | None = None
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._collect, args=(stream, announces), daemon=True)
            for stream, announces in (
                (self.process.stderr, not ready_on_stdout),
                (self.process.stdout, ready_on_stdout),
            )
        ]
        for reader in self._readers:
            reader.start()
        if not self._ready.wait(START_TIMEOUT_S) or self.address is None:
            self.stop()
            raise AssertionError(f"no ready line; stderr: {self.stderr!r}")

    def _collect(self, stream: object, announces: bool) -> None:
        for line in stream:  # type: ignore[attr-defined]
            if announces and self.address is None:
                self._parse_ready(line)
            else:
                self.lines.append(line)
        self._ready.set()

    def _parse_ready(self, line: str) -> None:
        match = READY.search(line)
        if match is not None:
            self.address = (match.group(1), int(match.group(2)))
        elif line.startswith("{"):
            self.address = ("127.0.0.1", int(json.loads(line)["port"]))
        else:
            self.lines.append(line)
            return
        self._ready.set()

    @property
    def stderr(self) -> str:
        """What the process wrote besides its ready line."""
        return "".join(self.lines)

    def rss_mib(self, field: str = "VmRSS") -> float:
        """Resident memory now (or ``VmHWM``: its peak so far), in MiB, from /proc/PID/status."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = int(re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE).group(1))  # type: ignore[union-attr]
        return kib / 1024

    @property
    def url(self) -> str:
        """``http://host:port``."""
        assert self.address is not None
        return f"http://{self.address[0]}:{self.address[1]}"

    def ping(self, attempts: int = 20) -> int | None:
        """The grpc-status of a normal native gRPC Ping.

        Connections and calls an attack just dropped take the server a moment to count out (and
        a proxy's upstream a moment to end the calls relayed to it), so a refused connection or
        stream, or UNAVAILABLE, is tried again (`attempts` times, 0.25 s apart), as gRPC
        clients retry them.
        """
        assert self.address is not None
        headers = [("content-type", "application/grpc"), ("te", "trailers")]
        for _ in range(attempts - 1):
            try:
                response = h2_request(self.url.split("//")[1], PING, headers, EMPTY_MESSAGE)
            except ConnectionError:
                response = None
            if response is not None and not response.reset and response.grpc_status != UNAVAILABLE:
                return response.grpc_status
            time.sleep(0.25)
        return h2_request(self.url.split("//")[1], PING, headers, EMPTY_MESSAGE).grpc_status

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 30 s; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for reader in self._readers:
            reader.join(10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return self.process.returncode


def start_serve(*options: str) -> Target:
    """`rpcctl serve` on a free loopback port, with `options`."""
    return Target([sys.executable, "-m", "rpcctl", "serve", "--listen", "127.0.0.1:0", *options])


def start_proxy(upstream: str, capture: Path, *options: str) -> Target:
    """The recording proxy (`tests.proxy.proxy_process`) in front of `upstream`."""
    argv = [sys.executable, "-m", "tests.proxy.proxy_process", upstream, str(capture), *options]
    return Target(argv, ready_on_stdout=True)
