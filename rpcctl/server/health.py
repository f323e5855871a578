"""grpc.health.v1.Health for the served services.

Check answers SERVING for ``""`` (the server as a whole) and for every served service, and
NOT_FOUND for any other name, as the health protocol asks. Watch sends the current status
once (SERVICE_UNKNOWN for an unknown name) and then keeps the stream open until the client
cancels it or its deadline passes: nothing here ever changes status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection
from typing import TYPE_CHECKING, Any

from rpcctl.errors import RpcError
from rpcctl.server.builtin_schema import HEALTH, builtin_schema
from rpcctl.server.typed import method_handler
from rpcctl.wire.status import Code

if TYPE_CHECKING:
    from rpcctl.server.call import Handler, ServerCall

SERVING = 1
SERVICE_UNKNOWN = 3


def health_handlers(services: Collection[str] | Callable[[], Collection[str]]) -> list[Handler]:
    """Check and Watch handlers; ``services`` is the served names (or a function giving them)."""
    schema = builtin_schema()
    service = schema.pool.FindServiceByName(HEALTH)
    response_class = schema.message_class(service.FindMethodByName("Check").output_type)

    def known(name: str) -> bool:
        names = services() if callable(services) else services
        return name == "" or name in names

    async def check(request: Any, call: ServerCall) -> Any:
        if not known(request.service):
            raise RpcError(Code.NOT_FOUND, f"unknown service {request.service!r}")
        return response_class(status=SERVING)

    async def watch(request: Any, call: ServerCall) -> AsyncIterator[Any]:
        yield response_class(status=SERVING if known(request.service) else SERVICE_UNKNOWN)
        await asyncio.Event().wait()  # until the client goes away or the deadline passes

    return [
        method_handler(service.FindMethodByName("Check"), check, schema=schema),
        method_handler(service.FindMethodByName("Watch"), watch, schema=schema),
    ]
