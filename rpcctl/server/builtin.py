"""The services every rpcctl server offers for its schema: reflection (v1, v1alpha) and health."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpcctl.server.builtin_schema import BUILTIN_SERVICES
from rpcctl.server.health import health_handlers
from rpcctl.server.reflection import reflection_handlers

if TYPE_CHECKING:
    from rpcctl.schema.registry import Schema
    from rpcctl.server.call import Handler, HandlerTable


def builtin_handlers(schema: Schema | None) -> list[Handler]:
    """Reflection v1 and v1alpha over ``schema`` (plus the built-ins), and grpc.health.v1."""
    names = [] if schema is None else [s.full_name for s in schema.services()]
    served = [*names, *BUILTIN_SERVICES]
    return [*reflection_handlers(schema, served), *health_handlers(set(served))]


def add_builtin_services(table: HandlerTable, schema: Schema | None) -> None:
    """Add the built-in services to ``table`` (a method the table already has is kept)."""
    for handler in builtin_handlers(schema):
        if table.lookup(handler.path) is None:
            table.add(handler)
