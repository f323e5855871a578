"""What the daemon imports before its first fork, and how it notices rpcctl has changed since."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Any

PRELOAD = (
    "asyncio",
    "difflib",
    "google.protobuf.descriptor_pb2",
    "google.protobuf.descriptor_pool",
    "google.protobuf.json_format",
    "google.protobuf.message_factory",
    "google.protobuf.text_format",
    "grpc_reflection.v1alpha.reflection_pb2",
    "http",
    "rich.console",
    "rich.highlighter",
    "rich.text",
    "rpcctl.call",
    "rpcctl.cli",
    "rpcctl.cli.call",
    "rpcctl.cli.call_run",
    "rpcctl.cli.command",
    "rpcctl.cli.completion",
    "rpcctl.cli.connection",
    "rpcctl.cli.describe",
    "rpcctl.cli.describe_run",
    "rpcctl.cli.env",
    "rpcctl.cli.exit",
    "rpcctl.cli.fastparse",
    "rpcctl.cli.fastspec",
    "rpcctl.cli.group",
    "rpcctl.cli.helptext",
    "rpcctl.cli.listing",
    "rpcctl.cli.listing_run",
    "rpcctl.cli.numbers",
    "rpcctl.cli.options",
    "rpcctl.cli.presenting",
    "rpcctl.cli.request_fit",
    "rpcctl.cli.requests",
    "rpcctl.cli.session",
    "rpcctl.client",
    "rpcctl.codec",
    "rpcctl.errors",
    "rpcctl.hints",
    "rpcctl.jsonsafe",
    "rpcctl.loader",
    "rpcctl.output",
    "rpcctl.output.messages",
    "rpcctl.output.style",
    "rpcctl.output.verbose",
    "rpcctl.protocols",
    "rpcctl.protocols.base64_stream",
    "rpcctl.protocols.body",
    "rpcctl.protocols.connect",
    "rpcctl.protocols.exchange",
    "rpcctl.protocols.grpc",
    "rpcctl.protocols.grpc_web",
    "rpcctl.protocols.plain",
    "rpcctl.schema",
    "rpcctl.schema.anys",
    "rpcctl.schema.cache",
    "rpcctl.schema.describe",
    "rpcctl.schema.describe_options",
    "rpcctl.schema.describe_source",
    "rpcctl.schema.describe_types",
    "rpcctl.schema.json_anys",
    "rpcctl.schema.json_bytes",
    "rpcctl.schema.jsoncodec",
    "rpcctl.schema.reflection",
    "rpcctl.schema.reflection_extensions",
    "rpcctl.schema.registry",
    "rpcctl.schema.resolver",
    "rpcctl.schema.sources",
    "rpcctl.schema.template",
    "rpcctl.transport",
    "rpcctl.transport.endpoint",
    "rpcctl.transport.exchange",
    "rpcctl.transport.first_bytes",
    "rpcctl.transport.h1_connection",
    "rpcctl.transport.h1_exchange",
    "rpcctl.transport.h1_parser",
    "rpcctl.transport.h2_client",
    "rpcctl.transport.h2_codes",
    "rpcctl.transport.h2_conn",
    "rpcctl.transport.h2_exchange",
    "rpcctl.transport.h2_frames",
    "rpcctl.transport.h2_hpack",
    "rpcctl.transport.h2_keepalive",
    "rpcctl.transport.h2_receive",
    "rpcctl.transport.h2_send",
    "rpcctl.transport.h2_stream",
    "rpcctl.transport.handover",
    "rpcctl.transport.lean_h1",
    "rpcctl.transport.lean_h2",
    "rpcctl.transport.pool",
    "rpcctl.transport.proxy",
    "rpcctl.transport.proxy_env",
    "rpcctl.transport.target",
    "rpcctl.transport.tls",
    "rpcctl.transport.whole_response",
    "rpcctl.wire",
    "rpcctl.wire.compression",
    "rpcctl.wire.connect_error",
    "rpcctl.wire.envelope",
    "rpcctl.wire.error_detail",
    "rpcctl.wire.grpc_status",
    "rpcctl.wire.metadata",
    "rpcctl.wire.status",
    "rpcctl.wire.timeout",
    "rpcctl.wire.trailer_block",
    "rpcctl.wire_call",
    "zlib",
)
"""Modules a `call`, `list` or `describe` imports, loaded before the first fork (a name that
does not exist in this version is skipped)."""


def preload() -> dict[str, int]:
    """Import the call path, typer's included (the root group and its three one-off commands
    are built once: help and errors go through typer); the modification times (ns) of every
    rpcctl source file now imported, by path."""
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    import typer

    from rpcctl.cli.group import app

    group: Any = typer.main.get_command(app)
    context = group.make_context("rpcctl", ["call"], resilient_parsing=True)
    for command in ("call", "list", "describe"):
        group.get_command(context, command)
    return _sources()


def _sources() -> dict[str, int]:
    stamps = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and (getattr(module, "__name__", "") or "").startswith("rpcctl"):
            try:
                stamps[path] = os.stat(path).st_mtime_ns
            except OSError:
                stamps[path] = -1
    return stamps


def changed(stamps: dict[str, int]) -> bool:
    """Whether any source file in `stamps` was modified (or removed) since."""
    for path, stamp in stamps.items():
        try:
            if os.stat(path).st_mtime_ns != stamp:
                return True
        except OSError:
            return True
    return False
