"""The `rpcctl tail-logs` TUI: a Textual view over the log model (`rpcctl.runner.logmodel`).

Importing this package does not import Textual: `actions` and `lines` are plain Python,
and only `rpcctl.tui.app` (the `create_app` factory) and the widgets load Textual.
"""
