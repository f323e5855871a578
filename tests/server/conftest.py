"""Fixtures: rpcctl's server with the test service, in the test's loop or in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from rpcctl.call_events import EventBus
from rpcctl.schema.registry import Schema
from rpcctl.server.builtin import add_builtin_services
from rpcctl.server.serve import Server
from tests.server.service import make_table
from tests.support.schema import compile_test_schema


@pytest.fixture(scope="session")
def schema() -> Schema:
    """The compiled test schema."""
    return compile_test_schema()


def full_table(schema: Schema) -> Any:
    table = make_table(schema)
    add_builtin_services(table, schema)
    return table


@pytest_asyncio.fixture
async def server(schema: Schema) -> AsyncIterator[Server]:
    """The test service (plus reflection and health) in this test's event loop, with a bus."""
    async with Server(full_table(schema), schema=schema, bus=EventBus()) as served:
        yield served


class ServerThread:
    """A Server running in an event loop of its own thread (for sync clients and subprocesses)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.server: Server | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        try:
            self.server = Server(**self._options)
            await self.server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stopped.wait()
        await self.server.close()

    def __enter__(self) -> Server:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        assert self.server is not None
        return self.server

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(30)


@pytest.fixture(scope="module")
def threaded(schema: Schema) -> Iterator[Server]:
    """The test service in a background thread, shared by a module's tests."""
    with ServerThread(table=full_table(schema), schema=schema) as served:
        yield served
