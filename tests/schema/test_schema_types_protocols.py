"""Types on demand over every protocol and codec, against rpcctl's own server with reflection.

With the JSON codec the answer names its Any types before it can be decoded, so they are
resolved from the JSON; with the proto codec, from the decoded message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.message_factory import GetMessageClass

from rpcctl.server.builtin import add_builtin_services
from rpcctl.server.call import HandlerTable
from rpcctl.server.serve import Server
from rpcctl.server.typed import service_handlers
from tests.schema.reflecting_server import URL, server_schema
from tests.server.conftest import ServerThread
from tests.support.cli import run_cli


@pytest.fixture(scope="module")
def served() -> Iterator[Server]:
    schema = server_schema()
    pool = schema.pool
    req = GetMessageClass(pool.FindMessageTypeByName("demo.Req"))
    secret = GetMessageClass(pool.FindMessageTypeByName("demo.Secret"))

    async def get(request: Any, call: Any) -> Any:
        if request.HasField("item"):
            return request
        reply = req()
        reply.item.Pack(secret(code="c"))
        return reply

    table = HandlerTable()
    for handler in service_handlers(pool.FindServiceByName("demo.Demo"), {"Get": get}, schema=schema):
        table.add(handler)
    add_builtin_services(table, schema)
    with ServerThread(table=table, schema=schema) as running:
        yield running


@pytest.mark.parametrize("codec", ["json", "proto"])
@pytest.mark.parametrize("protocol", ["connect", "grpc-web", "grpc"])
def test_any_types_found_by_reflection(served: Server, protocol: str, codec: str) -> None:
    flags = ("--protocol", protocol, "--codec", codec)
    answer = run_cli("call", served.address, "demo.Demo/Get", *flags, "-d", "{}")
    assert answer.exit_code == 0, answer.stderr
    assert answer.json == {"item": {"@type": URL + "demo.Secret", "code": "c"}}
    sent = {"item": {"@type": URL + "demo.Deeper", "level": 3}}
    echoed = run_cli("call", served.address, "demo.Demo/Get", *flags, "-d", json.dumps(sent), "--no-cache")
    assert echoed.exit_code == 0, echoed.stderr
    assert echoed.json == sent
