"""TLS contexts for the HTTP transports: verification on unless --insecure, ALPN chosen per path."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
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
    if tls.cacert is not None:
        with _tls_file(f"--cacert {tls.cacert}", "PEM CA certificates"):
            context.load_verify_locations(cafile=str(tls.cacert))
    if tls.cert is not None and tls.key is not None:
        with _tls_file(
            f"--cert {tls.cert} / --key {tls.key}",
            "a PEM certificate and its private key (or the key does not match the certificate)",
        ):
            context.load_cert_chain(certfile=str(tls.cert), keyfile=str(tls.key))
    if tls.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(alpn)
    return context


@contextlib.contextmanager
def _tls_file(option: str, wanted: str) -> Iterator[None]:
    """Loading errors as one line naming the option and file: unreadable, or not what it should be."""
    try:
        yield
    except ssl.SSLError as exc:
        raise UsageError(f"{option}: not {wanted}") from exc
    except OSError as exc:
        raise UsageError(f"{option}: cannot read: {exc.strerror or exc}") from exc


NOT_TLS_REASONS = frozenset(
    {
        "WRONG_VERSION_NUMBER",  # OpenSSL 1.1/3.0 on a plaintext answer (HTTP/1.x, HTTP/2 frames)
        "RECORD_LAYER_FAILURE",  # OpenSSL 3.2+ for the same
        "PACKET_LENGTH_TOO_LONG",  # plaintext bytes read as a record length
        "HTTP_REQUEST",
        "UNKNOWN_PROTOCOL",
        "UNEXPECTED_EOF_WHILE_READING",  # the peer closed mid-handshake
    }
)
"""OpenSSL reasons that mean the peer does not speak TLS at all."""


def not_tls(address: str) -> str:
    """The message for an ``https://`` target whose server answers in plaintext."""
    return f"cannot connect to {address}: the server is not TLS: use http://"


def tls_closed(address: str) -> str:
    """The message for a server that closed the connection during the TLS handshake."""
    return (
        f"cannot connect to {address}: the server closed the connection during the TLS handshake "
        "(if the server is not TLS: use http://)"
    )


def tls_failure(address: str, exc: BaseException) -> str:
    """A one-line explanation of a failed TLS handshake, with the option that may fix it."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = exc.verify_message or exc.reason or str(exc)
        return (
            f"TLS handshake with {address} failed: {why} (use --cacert, or --insecure to skip verification)"
        )
    reason = getattr(exc, "reason", None)
    if reason in NOT_TLS_REASONS:
        return tls_closed(address) if reason == "UNEXPECTED_EOF_WHILE_READING" else not_tls(address)
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return tls_closed(address)
    return f"TLS handshake with {address} failed: {reason or exc}"
