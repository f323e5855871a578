"""Runs the rpcctl CLI in-process and returns everything it did."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from rpcctl.cli.app import main
from rpcctl.cli.env import Environment


@dataclass
class CliResult:
    """Exit status, output, errors and the output parsed as JSON lines."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        """The single JSON document printed (or the list of them if there were several)."""
        docs = self.json_lines
        return docs[0] if len(docs) == 1 else docs

    @property
    def json_lines(self) -> list[Any]:
        """One parsed JSON document per non-empty output line."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


class _Bytes(io.BytesIO):
    def isatty(self) -> bool:
        return False


def run_cli(*args: str, stdin: bytes = b"", tty: bool = False) -> CliResult:
    """Run `rpcctl ARGS…` in-process with the given stdin; never raises SystemExit."""
    stdout, stderr = io.StringIO(), io.StringIO()
    env = Environment(
        stdin=_Bytes(stdin),
        stdout=stdout,
        stderr=stderr,
        stdin_isatty=False,
        stdout_isatty=tty,
        stderr_isatty=False,
    )
    code = 0
    try:
        main(list(args), env)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code, stdout.getvalue(), stderr.getvalue())
