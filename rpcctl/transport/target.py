"""Targets (`http://host:port/prefix`, `https://…`, `unix:///path`, `host:port`) and channel settings."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from rpcctl.errors import UsageError
from rpcctl.wire.envelope import DEFAULT_MAX_MESSAGE_SIZE

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a connection when --connect-timeout is not given."""


class RpcProtocol(enum.Enum):
    """The three wire protocols."""

    CONNECT = "connect"
    GRPC = "grpc"
    GRPC_WEB = "grpc-web"


@dataclass(frozen=True)
class Target:
    """Where a server listens: host and port or a unix socket, TLS or not, and a path prefix."""

    host: str = ""
    port: int = 0
    tls: bool = False
    prefix: str = ""
    unix_path: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        """Parse a TARGET argument; raise `UsageError` on one that is not a target.

        Messages show the target without a ``user:password@``, query or fragment (which may
        hold credentials, RFC 3986 §3.2.1, §7.5); a target with user info is refused, as
        nothing sends it (credentials go in -H headers).
        """
        shown = _shown(text)
        if not text or text.strip() != text:
            raise UsageError(f"invalid target {shown!r}")
        if text.startswith("unix:"):
            path = text.removeprefix("unix:")
            if path.startswith("//"):
                path = path[2:]
            if not path:
                raise UsageError(f"invalid target {shown!r}: no socket path")
            return cls(unix_path=path)
        if "://" not in text:
            text = "http://" + text
        try:
            parts = urlsplit(text)
        except ValueError as exc:  # an unclosed [IPv6 bracket
            reason = "an IPv6 address goes in brackets, [::1]:8080"
            raise UsageError(f"invalid target {shown!r}: {reason}") from exc
        if parts.scheme not in ("http", "https"):
            raise UsageError(f"invalid target {shown!r}: scheme must be http, https or unix")
        if parts.query or parts.fragment:
            raise UsageError(f"invalid target {shown!r}: no query or fragment allowed")
        if "@" in parts.netloc:
            reason = "user info in a target is never sent: give credentials with -H 'authorization: …'"
            raise UsageError(f"invalid target {shown!r}: {reason}")
        tls = parts.scheme == "https"
        try:
            port = parts.port
        except ValueError as exc:
            raise UsageError(f"invalid target {shown!r}: the port must be a number from 1 to 65535") from exc
        host = parts.hostname or ""
        if not host:
            raise UsageError(f"invalid target {shown!r}: no host")
        return cls(
            host=host,
            port=port if port is not None else (443 if tls else 80),
            tls=tls,
            prefix=parts.path.rstrip("/"),
        )

    @property
    def address(self) -> str:
        """`host:port` (IPv6 in brackets) or `unix:/path`, for messages and grpcio."""
        if self.unix_path is not None:
            return f"unix:{self.unix_path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL that method paths are appended to (prefix included)."""
        if self.unix_path is not None:
            return f"http://localhost{self.prefix}"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.address}{self.prefix}"

    def __str__(self) -> str:
        return self.address if self.unix_path is not None else self.base_url


@dataclass(frozen=True)
class TlsSettings:
    """TLS settings: on for `https://` or `--tls`; verification on unless `insecure`."""

    enabled: bool = False
    insecure: bool = False
    cacert: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    servername: str | None = None

    def read_files(self) -> tuple[bytes | None, bytes | None, bytes | None]:
        """The CA bundle, client certificate and key as bytes; `UsageError` if unreadable."""
        return tuple(_read(p) for p in (self.cacert, self.cert, self.key))  # type: ignore[return-value]


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class ChannelSettings:
    """Everything about how to reach a target, shared by every command that talks to a server."""

    target: Target
    protocol: RpcProtocol = RpcProtocol.CONNECT
    http2: bool | None = None
    # With no version chosen on http://, try h2c first for every call (the proxy's upstream).
    prefer_http2: bool = False
    tls: TlsSettings = field(default_factory=TlsSettings)
    authority: str | None = None
    connect_timeout: float | None = None
    # HTTP/2 keepalive PING interval in seconds: None for the transport's default, 0 for off.
    keepalive_time: float | None = None
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    codec: str = "json"
    use_get: bool = False
    grpc_web_text: bool = False


_SECRET_PARTS = re.compile(r"//[^/?#@]*@|[?#].*$", re.DOTALL)


def _shown(text: str) -> str:
    """`text` with any ``user:password@`` as ``***@`` and a query or fragment as ``?…``."""
    return _SECRET_PARTS.sub(lambda m: "//***@" if m[0].startswith("//") else m[0][0] + "…", text)
