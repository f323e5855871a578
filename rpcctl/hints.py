"""What to try instead: the option that works, read off an answer that shows the server
speaks another protocol than the one asked for (DESIGN.md §2: "the error names the option
that works").

Two sources: the content type of an answer (`protocol_hint`, cheap, for every failed call),
and, when a server gave no answer to read (it reset the stream, or refused HTTP/1.1), one
probe in native gRPC (`wrong_protocol_error`). grpcio, for one, resets every HTTP/2 stream
whose content type is not ``application/grpc`` before sending any header (gRPC's
PROTOCOL-HTTP2.md lets a server do so), so its answer to a Connect call says nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpcctl.errors import RpcctlError, RpcError
from rpcctl.transport.target import RpcProtocol
from rpcctl.wire.metadata import Metadata

if TYPE_CHECKING:
    from rpcctl.protocols.exchange import RequestHead
    from rpcctl.transport.pool import HttpPool

NAMES = {RpcProtocol.GRPC: "native gRPC", RpcProtocol.GRPC_WEB: "gRPC-Web", RpcProtocol.CONNECT: "Connect"}
# A method no server serves: a native gRPC server answers it UNIMPLEMENTED (a grpc-status
# header), and nothing runs on any server.
PROBE_PATH = "/rpcctl.probe.v1.Probe/Probe"
RESET_PREFIX = "stream reset by the server"
# What each protocol's request looks like, as far as a server's dispatch goes.
PROBE_CONTENT_TYPES = {
    RpcProtocol.GRPC: "application/grpc",
    RpcProtocol.GRPC_WEB: "application/grpc-web+proto",
    RpcProtocol.CONNECT: "application/proto",
}


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


async def wrong_protocol_error(
    pool: HttpPool, exc: BaseException, timeout: float | None = None
) -> RpcctlError | None:
    """`exc` reworded to name ``--protocol grpc`` when the server speaks only native gRPC.

    Asked only for errors that carry no answer to read: a stream reset before any header,
    or an HTTP/1.1 request answered in HTTP/2 (``speaks only HTTP/2 (h2c)``). A server that
    answers the probe with a gRPC status, and resets (or never answers over HTTP/2) a request
    of our protocol, speaks native gRPC and nothing else we could use. None: no better advice.
    Each probe takes at most a third of `timeout` seconds (the time left to the caller: the
    two probes leave room to report `exc` itself when they find nothing), default the pool's.
    """
    from rpcctl.transport.pool import PROBE_TIMEOUT

    limit = PROBE_TIMEOUT if timeout is None else min(timeout / 3, PROBE_TIMEOUT)
    ours = pool.settings.protocol
    if ours is RpcProtocol.GRPC or not isinstance(exc, RpcError):
        return None
    wants_h2c = getattr(exc, "speaks", None) == "h2c"
    if "--protocol" in exc.message or not (wants_h2c or exc.message.startswith(RESET_PREFIX)):
        return None
    native = await pool.probe(_probe_head(pool, RpcProtocol.GRPC), limit)
    if native is None or (
        native.headers.get("grpc-status") is None and native.trailers.get("grpc-status") is None
    ):
        return None
    if wants_h2c and await pool.probe(_probe_head(pool, ours), limit) is not None:
        return None  # it answers our protocol over HTTP/2: "--http2" was the right advice
    # The reset or the HTTP version that showed it is no news to the user: the protocol is.
    over = " (over HTTP/2)" if wants_h2c else ""
    address = pool.settings.target.address
    message = f"{address} speaks only native gRPC{over}, not {NAMES[ours]}: try --protocol grpc"
    return RpcError(exc.code, message, exc.details, exc.metadata)


def _probe_head(pool: HttpPool, protocol: RpcProtocol) -> RequestHead:
    from rpcctl.protocols.exchange import RequestHead

    headers = [("content-type", PROBE_CONTENT_TYPES[protocol])]
    if protocol is RpcProtocol.GRPC:
        headers.append(("te", "trailers"))
    return RequestHead("POST", pool.settings.target.prefix + PROBE_PATH, tuple(headers))
