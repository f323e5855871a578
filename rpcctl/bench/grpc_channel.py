"""grpcio channels for bench: one connection per channel (no subchannel sharing), TLS as `call` does."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from rpcctl.errors import UsageError

if TYPE_CHECKING:
    import grpc.aio

    from rpcctl.transport.target import ChannelSettings

_CHANNEL_IDS = itertools.count()


def make_channel(settings: ChannelSettings) -> grpc.aio.Channel:
    """A grpcio channel of its own to the settings' target (so --connections N opens N)."""
    import grpc
    import grpc.aio

    target = settings.target
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", settings.max_message_size),
        ("grpc.max_send_message_length", settings.max_message_size),
        ("grpc.enable_retries", 0),
        ("grpc.primary_user_agent", "rpcctl-bench"),
        # grpcio shares connections between channels with equal arguments; a local pool and
        # a distinct argument keep each bench connection its own.
        ("grpc.use_local_subchannel_pool", 1),
        ("rpcctl.bench.connection", next(_CHANNEL_IDS)),
    ]
    if settings.authority:
        options.append(("grpc.default_authority", settings.authority))
    if not (settings.tls.enabled or target.tls):
        return grpc.aio.insecure_channel(target.address, options=options)
    roots, cert, key = settings.tls.read_files()
    if (cert is None) != (key is None):
        raise UsageError("--cert and --key go together")
    servername = settings.tls.servername
    if settings.tls.insecure:
        # The same trust-what-is-served step as `rpcctl call --insecure` (grpcio cannot skip it).
        from rpcctl.transport.grpcio_channel import _trust_whatever_is_served

        roots, servername = _trust_whatever_is_served(settings, servername)
    if servername:
        options.append(("grpc.ssl_target_name_override", servername))
    credentials = grpc.ssl_channel_credentials(roots, key, cert)
    return grpc.aio.secure_channel(target.address, credentials, options=options)
