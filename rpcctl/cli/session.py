"""What list, describe and call share: settings, metadata, a channel and a schema."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rpcctl.cli.env import Environment
from rpcctl.errors import RpcError, SchemaError

if TYPE_CHECKING:
    from rpcctl.call import Channel
    from rpcctl.loader import LoadedSchema, SchemaRequest
    from rpcctl.schema.registry import Schema
    from rpcctl.wire.metadata import Metadata

T = TypeVar("T")


def parse_headers(*groups: Sequence[str] | None) -> Metadata:
    """Header options ('name: value') as metadata, group after group (-H, then the specific ones)."""
    from rpcctl.wire.metadata import Metadata, parse_header_option

    metadata = Metadata()
    for headers in groups:
        for header in headers or ():
            name, value = parse_header_option(header)
            metadata.add(name, value)
    return metadata


def schema_request(
    protos: Sequence[Path] | None,
    import_paths: Sequence[Path] | None,
    protosets: Sequence[Path] | None,
    reflect: bool | None,
    no_cache: bool = False,
) -> SchemaRequest:
    """The schema options as a request to the loader."""
    from rpcctl.loader import SchemaRequest

    return SchemaRequest(
        tuple(protos or ()), tuple(import_paths or ()), tuple(protosets or ()), reflect, cache=not no_cache
    )


async def load(
    env: Environment,
    request: SchemaRequest,
    channel: Channel | None,
    metadata: Metadata | None,
    *,
    export: Path | None = None,
    verbose: bool = False,
    refuse_fallback: bool = False,
) -> LoadedSchema:
    """Load the schema (`metadata`: the reflection headers), report warnings, export it if asked."""
    from rpcctl.loader import load_schema

    loaded = await load_schema(request, channel, metadata)
    pool = getattr(channel, "pool", None)
    if loaded.reflection_exception is not None and pool is not None:
        from rpcctl.hints import wrong_protocol_error

        # Reflection failed in a way that says the server speaks another protocol: the call
        # would fail the same way, so say which protocol works now rather than fall back.
        better = await wrong_protocol_error(pool, loaded.reflection_exception)
        if better is not None and refuse_fallback:
            from rpcctl.loader import ReflectionFailed

            said = better.message if isinstance(better, RpcError) else error_text(better)
            raise ReflectionFailed(f"server reflection failed: {said}") from better
        if better is not None:
            raise better from loaded.reflection_exception
    if refuse_fallback:
        loaded.refuse_fallback()
    for warning in loaded.warnings:
        env.stderr.write(f"warning: {warning}\n")
    if verbose:
        env.stderr.write(f"* schema from {', '.join(loaded.sources)}\n")
        if loaded.reflection_error:
            env.stderr.write(f"* reflection: {loaded.reflection_error}\n")
    if export is not None:
        try:
            Path(export).write_bytes(loaded.schema.to_protoset())
        except OSError as exc:
            raise SchemaError(f"cannot write {export}: {exc.strerror or exc}") from exc
    return loaded


def error_text(exc: BaseException) -> str:
    """An error as one phrase: `CODE: message` for an RPC error."""
    if isinstance(exc, RpcError):
        return f"{exc.code.name}: {exc.message}"
    return str(exc)


def split_target(first: str | None, second: str | None) -> tuple[str | None, str | None]:
    """`[TARGET] NAME`: one argument is a name unless it looks like an address."""
    if second is not None:
        return first, second
    if first is not None and (":" in first):
        # Symbols never hold a colon; every target form does (scheme, port or unix:).
        return first, None
    return None, first


async def load_for_target(env: Environment, target: str | None, params: dict[str, Any]) -> LoadedSchema:
    """Load the schema a command's options ask for, asking `target` (if any) by reflection.

    For commands that show the schema (list, describe): when reflection failed and no schema
    option was given, the bundled descriptors are no answer: `ReflectionFailed` (exit 1).
    """
    loaded, _ = await load_and_find(env, target, params, None, lambda schema: None)
    return loaded


async def load_and_find(
    env: Environment,
    target: str | None,
    params: dict[str, Any],
    name: str | None,
    find: Callable[[Schema], T],
) -> tuple[LoadedSchema, T]:
    """`load_for_target`, then `find(schema)` for the symbol `name` while the server can be asked.

    A symbol missing from a cached schema asks the server again; one missing from a reflected
    schema is asked for by name (reflection's file_containing_symbol, as grpcurl does).
    """
    from rpcctl.cli.connection import channel_settings, connection_params

    request = schema_request(
        params.get("protos"),
        params.get("import_paths"),
        params.get("protosets"),
        params.get("reflect"),
        bool(params.get("no_cache")),
    )
    metadata = parse_headers(params.get("headers"), params.get("reflect_headers"))
    channel = None
    if target is not None:
        from rpcctl.client import open_channel

        channel = open_channel(channel_settings(target, **connection_params(params)))

    async def work() -> tuple[LoadedSchema, T]:
        verbose = bool(params.get("verbose"))
        export = params.get("export_protoset")
        loaded = await load(
            env, request, channel, metadata, export=export, verbose=verbose, refuse_fallback=True
        )
        try:
            return loaded, find(loaded.schema)
        except SchemaError as exc:
            if loaded.from_cache:
                fresh = replace(request, cache=False)
                loaded = await load(env, fresh, channel, metadata, verbose=verbose, refuse_fallback=True)
                with contextlib.suppress(SchemaError):
                    return loaded, find(loaded.schema)
            if name is not None and await _by_reflection(loaded, name):
                with contextlib.suppress(SchemaError):
                    return loaded, find(loaded.schema)
            raise loaded.lookup_failed(exc) from exc

    try:
        return await within_timeout(params.get("timeout"), work())
    except SchemaError as exc:
        if target is None and name is not None and _looks_like_a_host(name):
            raise SchemaError(f"{exc}; to ask a server, give TARGET with its port: {name}:PORT") from exc
        raise
    finally:
        if channel is not None:
            await channel.aclose()


def _looks_like_a_host(name: str) -> bool:
    """'localhost' or an IP address: what a user means as a TARGET, not a symbol."""
    import ipaddress

    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


async def _by_reflection(loaded: LoadedSchema, name: str) -> bool:
    """Add the file that defines `name` (a full name) to a reflected schema; True if it came."""
    from rpcctl.errors import RpcctlError
    from rpcctl.schema.registry import Schema

    symbol = name.strip().lstrip("/.").replace("/", ".")
    if loaded.type_source is None or "." not in symbol:
        return False
    known = {fd.name for fd in loaded.schema.files}
    try:
        files = await loaded.type_source.files_for_symbol(symbol, known)
        loaded.schema = Schema([*loaded.schema.files, *files])
    except RpcctlError:
        return False
    return True


async def within_timeout(timeout: str | None, work: Awaitable[T]) -> T:
    """`work`, bounded by the `--timeout` option (DEADLINE_EXCEEDED past it); unbounded without."""
    from rpcctl.errors import RpcError
    from rpcctl.wire.status import Code
    from rpcctl.wire.timeout import parse_duration

    try:
        seconds = parse_duration(timeout, "--timeout") if timeout else None
    except BaseException:
        if isinstance(work, Coroutine):
            work.close()  # never started: no "never awaited" warning on stderr
        raise
    try:
        async with asyncio.timeout(seconds):
            return await work
    except TimeoutError:
        raise RpcError(Code.DEADLINE_EXCEEDED, f"--timeout of {timeout} exceeded") from None
