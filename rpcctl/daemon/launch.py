"""Starting rpcctl again as a detached process: the daemon, or `daemon start` for
$RPCCTL_DAEMON=auto.

The new process is this same rpcctl however it was installed: the console script of a venv,
`python -m rpcctl`, a zipapp such as the shiv one-file build, or a frozen executable.
"""

from __future__ import annotations

import os
import subprocess
import sys

SERVE_ENV = "_RPCCTL_DAEMON_SERVE"
"""Set (to ``IDLE_SECONDS SOCKET_PATH``) in the environment of the process that becomes the
daemon: `rpcctl.cli.app.main` looks for it before anything else."""


def self_command() -> list[str]:
    """The command line that runs this rpcctl again (without arguments)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name.startswith("rpcctl"):
        return [sys.executable, "-m", "rpcctl"]
    if sys.argv and sys.argv[0] and os.path.isfile(sys.argv[0]):
        return [sys.executable, sys.argv[0]]
    return [sys.executable, "-m", "rpcctl"]


def detached(
    args: list[str], extra_env: dict[str, str] | None = None, **streams: object
) -> subprocess.Popen[bytes]:
    """Start `rpcctl ARGS` in a session of its own (no terminal, no signals from this one's),
    in /, with stdin from /dev/null and `streams` (stdout=..., stderr=...)."""
    env = dict(os.environ, **(extra_env or {}))
    return subprocess.Popen(  # type: ignore[call-overload]
        [*self_command(), *args],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd="/",
        env=env,
        **{"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **streams},
    )
