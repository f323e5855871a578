"""Where the daemon's socket lives, and which installation of rpcctl it serves.

Imported on every `call`, `list` and `describe` before anything else: stdlib built-ins only.
"""

from __future__ import annotations

import os
import sys

DIR_ENV = "RPCCTL_DAEMON_DIR"
"""A directory to use instead of ``$XDG_RUNTIME_DIR/rpcctl`` (tests give each run its own);
an absolute path, else ignored (the daemon runs in /, its clients each in their own directory)."""
USE_ENV = "RPCCTL_DAEMON"
"""``off`` (or ``0``): never hand a command to a daemon; ``auto``: start one when none runs."""
MAX_SOCKET_PATH = 107  # sun_path is 108 bytes on Linux, one of them the terminating NUL


def daemon_dir() -> str:
    """``$RPCCTL_DAEMON_DIR``, else ``$XDG_RUNTIME_DIR/rpcctl`` (the XDG Base Directory
    specification's place for sockets), else ``/tmp/rpcctl-UID``; a relative path in either
    variable is ignored, as that specification says of its own."""
    override = os.environ.get(DIR_ENV)
    if override and os.path.isabs(override):
        return override
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "rpcctl")
    return f"/tmp/rpcctl-{os.getuid()}"


def install_key() -> str:
    """What a daemon must share with its client to serve it: the Python (its program, however
    reached: `rpcctl` and `python -m rpcctl` share one, and its environment's prefix), the
    rpcctl package's location and version, $PYTHONPATH (which chooses the other modules a run
    imports). A daemon of another installation refuses the command."""
    import rpcctl

    where = os.path.dirname(os.path.abspath(rpcctl.__file__))
    path = os.environ.get("PYTHONPATH", "")
    python = f"{os.path.realpath(sys.executable)}|{sys.prefix}"
    return f"{rpcctl.__version__}|{python}|{where}|{os.getuid()}|{path}"


def socket_path(key: str | None = None) -> str:
    """The socket of the daemon for this installation: ``DIR/daemon-<crc32 of the key>.sock``."""
    from binascii import crc32

    digest = crc32((key or install_key()).encode("utf-8", "surrogateescape"))
    return os.path.join(daemon_dir(), f"daemon-{digest:08x}.sock")


def trusted(directory: str) -> bool:
    """Whether ``directory`` is a real directory (no symlink) owned by this user that neither
    group nor others may enter: only then is a socket in it ours."""
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    import stat

    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o077 == 0


def make_dir(directory: str) -> None:
    """Create ``directory`` with mode 0700 (its parents too). Raises OSError, or
    PermissionError when it exists but is not `trusted`."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if not trusted(directory):
        raise PermissionError(
            f"{directory} is not a directory that only this user may enter "
            f"(mode 0700, owned by uid {os.getuid()})"
        )
