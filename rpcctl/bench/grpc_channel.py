"""grpcio channels for bench: one connection per channel (no subchannel sharing), TLS as `call` does."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import grpc.aio

    from rpcctl.transport.target import ChannelSettings

_CHANNEL_IDS = itertools.count()


def make_channel(settings: ChannelSettings) -> grpc.aio.Channel:
    """A grpcio channel of its own to the settings' target (so --connections N opens N)."""
    from rpcctl.transport.grpcio_channel import make_grpc_channel

    # grpcio shares connections between channels with equal arguments; a local pool and
    # a distinct argument keep each bench connection its own.
    own = [("grpc.use_local_subchannel_pool", 1), ("rpcctl.bench.connection", next(_CHANNEL_IDS))]
    return make_grpc_channel(settings, own, user_agent="rpcctl-bench")
