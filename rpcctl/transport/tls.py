"""TLS contexts for the HTTP transports: verification on unless --insecure, ALPN chosen per path."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from rpcctl.errors import UsageError

if TYPE_CHECKING:
    from rpcctl.transport.target import ChannelSettings


def uses_tls(settings: ChannelSettings) -> bool:
    """Whether the channel speaks TLS (an ``https://`` target or ``--tls``)."""
    return settings.target.tls or settings.tls.enabled


def ssl_context(settings: ChannelSettings, alpn: list[str]) -> ssl.SSLContext:
    """A client context with the CA bundle, client certificate and ALPN protocols asked for."""
    tls = settings.tls
    if (tls.cert is None) != (tls.key is None):
        raise UsageError("--cert and --key go together")
    context = ssl.create_default_context()
    try:
        if tls.cacert is not None:
            context.load_verify_locations(cafile=str(tls.cacert))
        if tls.cert is not None and tls.key is not None:
            context.load_cert_chain(certfile=str(tls.cert), keyfile=str(tls.key))
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load TLS files: {exc}") from exc
    if tls.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(alpn)
    return context


def tls_failure(address: str, exc: BaseException) -> str:
    """A one-line explanation of a failed TLS handshake."""
    reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    return f"TLS handshake with {address} failed: {reason} (use --cacert, or --insecure to skip verification)"
