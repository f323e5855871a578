"""The stand-in RunnerService as server handlers, and a handler table that serves it.

The server publishes every call it sees as `CallEvent`s; nothing here publishes again.
The UpdateTask or UpdateLog call that made the stand-in adopt a task it did not hand
out answers with the trailer `x-rpcctl-adopted: <tx_uuid>`, so that views (and the
runner) can tell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rpcctl.runner.messages import SERVICE

ADOPTED_TRAILER = "x-rpcctl-adopted"
"""Trailer naming the task the stand-in adopted during this call."""

if TYPE_CHECKING:
    from rpcctl.runner.standin import StandInService
    from rpcctl.schema.registry import Schema
    from rpcctl.server.call import Handler, HandlerTable, ServerCall


def runner_handlers(service: StandInService, schema: Schema) -> list[Handler]:
    """One unary handler per RunnerService method, each calling `service`."""
    from rpcctl.server.typed import service_handlers

    methods = {
        "Ping": service.ping,
        "Register": service.register,
        "Declare": service.declare,
        "FetchTask": service.fetch_task,
        "UpdateTask": service.update_task,
        "UpdateLog": service.update_log,
    }

    def adapt(method: Any) -> Any:
        async def handle(request: Any, call: ServerCall) -> Any:
            return await method(request)

        return handle

    def adopting(method: Any) -> Any:
        async def handle(request: Any, call: ServerCall) -> Any:
            known = request.tx_uuid in service.tasks
            response = await method(request)
            if not known and request.tx_uuid in service.adopted:
                call.response_trailers.add(ADOPTED_TRAILER, request.tx_uuid)
            return response

        return handle

    functions = {
        name: (adopting if name in ("UpdateTask", "UpdateLog") else adapt)(method)
        for name, method in methods.items()
    }
    return service_handlers(schema.find_service(SERVICE), functions, schema=schema)


def build_table(service: StandInService, schema: Schema, *, builtin: bool = True) -> HandlerTable:
    """A table with the RunnerService, plus reflection and health for `schema` when `builtin`.

    The path prefix (`/api/v1/pipeline`) is the server's business, not the table's.
    """
    from rpcctl.server.builtin import add_builtin_services
    from rpcctl.server.call import HandlerTable

    table = HandlerTable()
    for handler in runner_handlers(service, schema):
        table.add(handler)
    if builtin:
        add_builtin_services(table, schema)
    return table
