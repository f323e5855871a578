"""The CLI can build the TUI's inputs and run headless without loading Textual."""

from __future__ import annotations

import subprocess
import sys

PLAIN_MODULES = (
    "rpcctl.tui",
    "rpcctl.tui.actions",
    "rpcctl.tui.lines",
    "rpcctl.runner.logmodel",
    "rpcctl.runner.tailing",
    "rpcctl.output.headless",
)


def test_plain_modules_do_not_import_textual() -> None:
    code = f"import sys\nfor m in {PLAIN_MODULES!r}: __import__(m)\nprint('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
