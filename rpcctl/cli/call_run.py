"""What `rpcctl call` does once its options are read: the call, its output and its errors.

Typer-free: `rpcctl.cli.call` declares the command for typer, and a plainly valid command
line reaches `call` without typer (`rpcctl.cli.fastparse`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpcctl.cli.command import run
from rpcctl.cli.connection import channel_settings

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from rpcctl.call import Call
    from rpcctl.cli.env import Environment
    from rpcctl.codec import Codec


DEADLINE_SLACK = 0.05
"""Seconds before --timeout's end within which a server's DEADLINE_EXCEEDED is taken as ours."""


def call(
    env: Environment,
    *,
    target: str,
    method: str,
    data: str | None,
    emit_defaults: bool,
    fmt: str,
    color: str,
    pretty: bool | None,
    compress: str | None,
    protos: list[Path] | None,
    import_paths: list[Path] | None,
    protosets: list[Path] | None,
    reflect: bool | None,
    export_protoset: Path | None,
    headers: list[str] | None,
    reflect_headers: list[str] | None,
    rpc_headers: list[str] | None,
    no_cache: bool,
    timeout: str | None,
    verbose: bool,
    **connection: Any,
) -> None:
    """Call `method` on `target` with the options of `rpcctl call` (as its typer declaration
    in `rpcctl.cli.call` gives them; `connection`: the `channel_settings` keywords).

    Raises SystemExit with the exit status (`rpcctl.cli.command.run`)."""
    schema_box: list[Any] = []
    largest_sent = [0]  # bytes of the largest request message sent (see over_max_msg_size)

    async def main() -> int:
        from rpcctl.cli import session
        from rpcctl.cli.requests import read_data_argument
        from rpcctl.client import open_channel
        from rpcctl.errors import RpcError, UsageError
        from rpcctl.hints import wrong_protocol_error
        from rpcctl.output.style import color_wanted
        from rpcctl.output.verbose import VerbosePrinter
        from rpcctl.wire.status import Code
        from rpcctl.wire.timeout import parse_duration

        if fmt not in ("json", "text"):
            raise UsageError(f"unknown format {fmt!r}: use json or text")
        if compress not in (None, "gzip", "identity"):
            raise UsageError(f"unsupported compression {compress!r}: use gzip")
        color_wanted(color, env.stdout_isatty, os.environ)  # a bad --color fails before connecting
        settings = channel_settings(target, **connection)
        metadata = session.parse_headers(headers, rpc_headers)
        deadline = parse_duration(timeout, "--timeout") if timeout else None
        literal = read_data_argument(data) if data is not None else None
        say = VerbosePrinter(env.stderr, verbose)
        channel = open_channel(settings)
        # --timeout bounds everything the command does: reflection, connecting, the call.
        ends = None if deadline is None else time.monotonic() + deadline
        try:
            async with asyncio.timeout(deadline):
                try:
                    return await call_method(channel, metadata, literal, say, ends)
                except RpcError as exc:
                    left = None if ends is None else ends - time.monotonic()
                    # Our --timeout ran out, noticed by the server or by us: one wording for
                    # every protocol. Long before it, the server's own deadline spoke.
                    ours = deadline and left is not None and left <= max(DEADLINE_SLACK, deadline * 0.05)
                    if exc.code is Code.DEADLINE_EXCEEDED and ours:
                        raise RpcError(exc.code, f"--timeout of {timeout} exceeded") from exc
                    from rpcctl.output.errors import over_max_msg_size  # only on a failed call

                    hinted = over_max_msg_size(
                        exc, settings.max_message_size, largest_sent[0], compressed=compress == "gzip"
                    )
                    if hinted is not None:
                        raise hinted from exc
                    better = await wrong_protocol_error(channel.pool, exc, left)
                    if better is None:
                        raise
                    raise better from exc
        except TimeoutError:
            raise RpcError(Code.DEADLINE_EXCEEDED, f"--timeout of {timeout} exceeded") from None
        finally:
            await channel.aclose()

    async def call_method(
        channel: Any, metadata: Any, literal: str | None, say: Any, ends: float | None
    ) -> int:
        from rpcctl.cli import session
        from rpcctl.errors import RpcError, SchemaError
        from rpcctl.schema.resolver import TypeResolver

        reflect_metadata = session.parse_headers(headers, reflect_headers)
        request = session.schema_request(protos, import_paths, protosets, reflect, no_cache)
        loaded = await session.load(
            env, request, channel, reflect_metadata, export=export_protoset, verbose=verbose
        )
        try:
            found = loaded.schema.find_method(method)
        except SchemaError as exc:
            if not loaded.from_cache:
                raise loaded.lookup_failed(exc) from exc
            # A cached schema may predate the method: ask the server again, once.
            request = session.schema_request(protos, import_paths, protosets, reflect, no_cache=True)
            loaded = await session.load(env, request, channel, reflect_metadata, verbose=verbose)
            try:
                found = loaded.schema.find_method(method)
            except SchemaError as again:
                raise loaded.lookup_failed(again) from again
        note = loaded.fallback_note(found.containing_service.full_name)
        if note is not None:
            env.stderr.write(note + "\n")
        schema = loaded.schema
        schema_box.append(schema)
        resolver = TypeResolver(schema, loaded.type_source)
        try:
            return await _call(channel, found, resolver, metadata, literal, say, ends)
        except RpcError as exc:
            # The details' types, asked for while the channel is still open.
            await resolver.resolve_details(exc.details)
            raise

    async def _call(
        channel: Any,
        found: Any,
        resolver: Any,
        metadata: Any,
        literal: str | None,
        say: Any,
        ends: float | None,
    ) -> int:
        from rpcctl.call import CallOptions, MethodInfo
        from rpcctl.cli.requests import RequestSource
        from rpcctl.codec import codec_for
        from rpcctl.output.messages import MessagePrinter
        from rpcctl.output.style import output_style
        from rpcctl.schema.jsoncodec import parse_json_values

        settings = channel.settings
        schema = resolver.schema
        info = MethodInfo.from_descriptor(found)
        if literal is not None:
            await resolver.resolve_json(parse_json_values(literal))
        source = RequestSource(schema.message_class(found.input_type), schema.pool, info.kind)
        requests: Iterable[Message] | AsyncIterator[Message] = (
            source.from_stream(env.stdin, resolver.resolve_json)
            if data == "@-"
            else source.from_text(literal)
        )
        wire_codec = codec_for(channel.codec, schema.pool)
        output_cls = schema.message_class(found.output_type)
        style = output_style(color, pretty, env.stdout_isatty, os.environ)
        printer = MessagePrinter(env.stdout, pretty=style.pretty, color=style.color, fmt=fmt)
        say.line(f"* {info.path} ({info.kind.label}) over {settings.protocol.value} to {settings.target}")
        options = CallOptions(
            metadata=metadata,
            timeout=None if ends is None else max(ends - time.monotonic(), 0.001),
            compression=None if compress == "identity" else compress,
            max_message_size=settings.max_message_size,
        )
        call = await channel.open(info, options)
        shown = _RequestShown(say, f"{channel.pool.scheme}://{channel.pool.authority}")
        shown(call)  # a request stream's head went out as the call opened
        sender = asyncio.create_task(_send_all(call, requests, wire_codec, shown, largest_sent))
        try:
            await _print_responses(
                call, wire_codec, output_cls, printer, say, emit_defaults, resolver, shown, env.stderr
            )
        except BaseException:
            if sender.done() and not sender.cancelled() and sender.exception() is not None:
                raise sender.exception() from None  # type: ignore[misc]
            raise
        finally:
            if not sender.done():
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
            say.metadata("<", "trailers", call.trailers)
            say.timings(call.timings, getattr(call, "exchange", None))
        if sender.done() and not sender.cancelled() and sender.exception() is not None:
            raise sender.exception()  # type: ignore[misc]
        return 0

    def render(exc: BaseException) -> str:
        from rpcctl.output.errors import render_error

        return render_error(exc, schema_box[0] if schema_box else None)

    run(env, main, verbose=verbose, render=render)


class _RequestShown:
    """Shows the request head under `-v` once, as soon as it went out (not when the answer came)."""

    def __init__(self, say: Any, origin: str) -> None:
        self.say = say
        self.origin = origin
        self.done = False

    def __call__(self, call: Call) -> None:
        head = getattr(call, "request_head", None)
        if self.done or head is None:
            return
        self.done = True
        exchange = getattr(call, "exchange", None)
        self.say.request(head, getattr(exchange, "http_version", None), self.origin)


async def _send_all(
    call: Call,
    requests: Iterable[Message] | AsyncIterator[Message],
    codec: Codec,
    shown: Any,
    largest: list[int],
) -> None:
    """Send every request, then half-close; on bad input, cancel the call. `largest[0]` is
    kept at the size of the largest message sent."""

    async def send(message: Message) -> None:
        data = codec.encode(message)
        largest[0] = max(largest[0], len(data))
        await call.send(data)

    try:
        # Once the call ended (the server answered or died), stop reading and encoding input:
        # the status is what the user needs (grpc-go's SendMsg returns io.EOF then).
        if isinstance(requests, AsyncIterator):
            async for message in requests:
                await send(message)
                if getattr(call, "send_closed", False):
                    break
            aclose = getattr(requests, "aclose", None)
            if aclose is not None:
                await aclose()  # the stdin reader stops too
        else:
            for message in requests:
                await send(message)
                if getattr(call, "send_closed", False):
                    break
        await call.close_send()
        shown(call)  # a one-message request (or a half-duplex stream) went out at half-close
    except BaseException:
        await call.cancel()
        raise


async def _print_responses(
    call: Call,
    codec: Codec,
    cls: type[Message],
    printer: Any,
    say: Any,
    emit_defaults: bool,
    resolver: Any,
    shown: Any,
    stderr: Any,
) -> None:
    from rpcctl.schema.jsoncodec import message_to_json, message_to_text

    pool = resolver.schema.pool
    raw: list[str] = []
    headers_shown = False
    try:
        while True:
            data = await call.receive()
            if not headers_shown:
                headers = await call.response_headers()
                _status_line(call, say, shown)
                say.metadata("<", "response headers", headers)
                headers_shown = True
            if data is None:
                return
            message = await resolver.decode(codec, data, cls)
            if printer.fmt == "text":
                printer.print_text(message_to_text(message, pool))
                continue
            seen = len(raw)
            printer.print_json(message_to_json(message, emit_defaults, pool, raw))
            for url in raw[seen:MAX_NOTES]:
                stderr.write(resolver.note(url) + "\n")
            if seen <= MAX_NOTES < len(raw):
                stderr.write("note: more types shown as base64 (@value); no more notes about them\n")
    except BaseException as exc:
        if not headers_shown and not isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
            # A call that failed before its headers has none to show. One that was cancelled
            # (Ctrl-C) does not wait for them: over HTTP/1.1 they might come at the deadline.
            with contextlib.suppress(Exception):
                headers = await call.response_headers()
                _status_line(call, say, shown)
                say.metadata("<", "response headers", headers)
        raise


# Notes about Anys shown raw: one per type, for this many types at most.
MAX_NOTES = 10


def _status_line(call: Call, say: Any, shown: Any) -> None:
    """`< HTTP/2 200`, as `curl -v` shows it (and the request, if it was not shown yet)."""
    shown(call)
    status = getattr(call, "http_status", None)
    if status is not None:
        version = getattr(call, "http_version", None) or "HTTP"
        say.line(f"< {version} {status}")
