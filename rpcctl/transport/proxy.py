"""An HTTP proxy to tunnel through: its record, its URL and how it is shown.

`parse_proxy` reads ``http://[user:pass@]host[:port]`` (the form of the HTTPS_PROXY and
HTTP_PROXY variables, `rpcctl.transport.proxy_env`); the user info becomes a
``Proxy-Authorization: Basic`` value (RFC 7617) that no repr or message shows.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from rpcctl.errors import UsageError
from rpcctl.transport.proxy_env import authority

DEFAULT_PROXY_PORT = 80

_USERINFO = re.compile(r"//[^/@]*@")


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy to open CONNECT tunnels through; credentials never appear in its repr."""

    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)  # a Proxy-Authorization value
    variable: str = ""  # the environment variable it came from, for messages

    @property
    def address(self) -> str:
        """`host:port` (IPv6 in brackets), safe to print."""
        return authority(self.host, self.port)

    @property
    def described(self) -> str:
        """The address and where it came from, for error messages: ``127.0.0.1:3128 (HTTPS_PROXY)``."""
        return f"{self.address} ({self.variable})" if self.variable else self.address


def redact(url: str) -> str:
    """The proxy URL with any ``user:password@`` replaced by ``***@``."""
    shown = url if "://" in url else "//" + url
    redacted = _USERINFO.sub("//***@", shown)
    return redacted if "://" in url else redacted.removeprefix("//")


def parse_proxy(text: str, variable: str = "") -> Proxy:
    """A proxy from ``http://[user:pass@]host[:port]`` or ``[user:pass@]host[:port]``."""
    where = f"{variable}={redact(text)}" if variable else redact(text)
    url = text if "://" in text else "http://" + text
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UsageError(f"invalid proxy URL {where}") from None
    scheme = parts.scheme.lower()
    if scheme == "https":
        raise UsageError(f"{where}: https:// proxies (TLS to the proxy) are not supported; use http://")
    if scheme != "http":
        raise UsageError(f"{where}: only http:// proxies are supported, not {scheme}://")
    if not parts.hostname:
        raise UsageError(f"invalid proxy URL {where}: no host")
    authorization = None
    if parts.username is not None:
        # RFC 7617: user-id ":" password, base64 of the UTF-8 bytes; the URL holds them percent-encoded.
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return Proxy(
        parts.hostname,
        port if port is not None else DEFAULT_PROXY_PORT,
        authorization=authorization,
        variable=variable,
    )
