"""What to try instead: the option that works, read off an answer that shows the server
speaks another protocol than the one asked for (DESIGN.md §2: "the error names the option
that works")."""

from __future__ import annotations

from rpcctl.transport.target import RpcProtocol
from rpcctl.wire.metadata import Metadata

NAMES = {RpcProtocol.GRPC: "native gRPC", RpcProtocol.GRPC_WEB: "gRPC-Web", RpcProtocol.CONNECT: "Connect"}


def protocol_hint(ours: RpcProtocol, http_status: int, headers: Metadata) -> str | None:
    """``the server speaks native gRPC: try --protocol grpc`` when the answer's content type
    is another protocol's; None when it is ours or says nothing."""
    value = headers.get("content-type")
    media = (value.decode("latin-1") if isinstance(value, bytes) else value or "").lower()
    media = media.partition(";")[0].strip()
    if media.startswith("application/grpc-web"):
        spoken = RpcProtocol.GRPC_WEB
    elif media.startswith("application/grpc"):
        spoken = RpcProtocol.GRPC
    elif media.startswith("application/connect+") or (
        media == "application/json" and ours is not RpcProtocol.CONNECT and http_status != 200
    ):
        spoken = RpcProtocol.CONNECT
    else:
        return None
    if spoken is ours:
        return None
    return f"the server speaks {NAMES[spoken]}: try --protocol {spoken.value}"
