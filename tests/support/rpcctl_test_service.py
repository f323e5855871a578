"""rpcctl's own server carrying the test service (Connect, gRPC, gRPC-Web), for a block."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def rpcctl_test_service() -> Iterator[str]:
    """rpcctl's server with the test service and the built-in ones, in a thread of its own; its URL."""
    from rpcctl.server.builtin import add_builtin_services
    from rpcctl.server.serve import Server
    from tests.server.service import make_table
    from tests.support.loopback import rpcctl_server_on_a_thread
    from tests.support.schema import compile_test_schema

    schema = compile_test_schema()
    table = make_table(schema)
    add_builtin_services(table, schema)
    with rpcctl_server_on_a_thread(Server(table, listen="127.0.0.1:0", schema=schema)) as url:
        yield url
