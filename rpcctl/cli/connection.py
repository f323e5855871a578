"""The connection options of `call`, `list`, `describe`, `bench` and `replay`, and the
`ChannelSettings` they describe. Typer-free: a one-off call builds its channel without it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpcctl.errors import UsageError

if TYPE_CHECKING:
    from rpcctl.transport.target import ChannelSettings

DEFAULT_MAX_MSG_SIZE = 4 * 1024 * 1024
"""The largest response message accepted unless --max-msg-size says otherwise (gRPC's default)."""


CONNECTION_PARAMS = (
    "protocol",
    "http2",
    "http1",
    "tls",
    "insecure",
    "cacert",
    "cert",
    "key",
    "servername",
    "authority",
    "connect_timeout",
    "keepalive_time",
    "max_msg_size",
    "codec",
    "use_get",
    "grpc_web_text",
)


def connection_params(params: dict[str, Any]) -> dict[str, Any]:
    """The connection options among a command's parameters (click's `ctx.params`)."""
    return {name: params[name] for name in CONNECTION_PARAMS if name in params}


def channel_settings(
    target: str,
    *,
    protocol: str = "connect",
    http2: bool = False,
    http1: bool = False,
    tls: bool = False,
    insecure: bool = False,
    cacert: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    servername: str | None = None,
    authority: str | None = None,
    connect_timeout: str | None = None,
    keepalive_time: str | None = None,
    max_msg_size: int | str | None = None,
    codec: str | None = None,
    use_get: bool = False,
    grpc_web_text: bool = False,
) -> ChannelSettings:
    """The `ChannelSettings` the connection options describe; `UsageError` on a bad mix or a
    number out of range (``max_msg_size``: bytes or a size such as ``16MiB``, default 4 MiB)."""
    from rpcctl.cli.numbers import parse_size
    from rpcctl.transport.target import ChannelSettings, RpcProtocol, TlsSettings
    from rpcctl.transport.target import Target as ParsedTarget
    from rpcctl.wire.timeout import parse_duration

    try:
        rpc_protocol = RpcProtocol(protocol)
    except ValueError:
        raise UsageError(f"unknown protocol {protocol!r}: use connect, grpc or grpc-web") from None
    if http1 and http2:
        raise UsageError("--http1 and --http2 exclude each other")
    if http1 and rpc_protocol is RpcProtocol.GRPC:
        raise UsageError("native gRPC needs HTTP/2; drop --http1 or use --protocol grpc-web")
    if codec is None:
        # gRPC and gRPC-Web servers speak proto; JSON over them is an opt-in few support.
        codec = "json" if rpc_protocol is RpcProtocol.CONNECT else "proto"
    if codec not in ("json", "proto"):
        raise UsageError(f"unknown codec {codec!r}: use json or proto")
    max_bytes = DEFAULT_MAX_MSG_SIZE if max_msg_size is None else parse_size(max_msg_size, "--max-msg-size")
    parsed = ParsedTarget.parse(target)
    return ChannelSettings(
        target=parsed,
        protocol=rpc_protocol,
        http2=True if http2 else (False if http1 else None),
        tls=TlsSettings(
            enabled=tls or parsed.tls,
            insecure=insecure,
            cacert=cacert,
            cert=cert,
            key=key,
            servername=servername,
        ),
        authority=authority,
        connect_timeout=parse_duration(connect_timeout, "--connect-timeout") if connect_timeout else None,
        keepalive_time=parse_duration(keepalive_time, "--keepalive-time") if keepalive_time else None,
        max_message_size=max_bytes,
        codec=codec,
        use_get=use_get,
        grpc_web_text=grpc_web_text,
    )
