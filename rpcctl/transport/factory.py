"""Picks the channel implementation for a protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpcctl.transport.target import ChannelSettings, RpcProtocol

if TYPE_CHECKING:
    from rpcctl.client import Channel


def open_channel(settings: ChannelSettings) -> Channel:
    """A channel for the settings' protocol (imports only what that protocol needs)."""
    if settings.protocol is RpcProtocol.GRPC:
        from rpcctl.transport.grpcio_channel import GrpcioChannel

        return GrpcioChannel(settings)
    from rpcctl.transport.http_channel import HttpChannel

    return HttpChannel(settings)
