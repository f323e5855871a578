"""Which proxy a connection goes through: HTTPS_PROXY, HTTP_PROXY and NO_PROXY, as curl reads them.

`proxy_for(host, port, tls=…)` picks ``https_proxy`` for TLS targets and ``http_proxy`` for
plaintext ones (lower case first, as curl does; an empty value counts as unset), unless
``no_proxy`` names the host. Every proxy is used as a CONNECT tunnel (RFC 9110 §9.3.6), for
h2c too: gRPC over HTTP/2 cannot pass through a proxy that forwards absolute-form requests.

Unlike Go's net/http, loopback targets are not exempt by default: a user who sets a proxy for
127.0.0.1 means it, and ``NO_PROXY=localhost,127.0.0.1`` opts out as with curl.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from rpcctl.errors import UsageError

HTTPS_PROXY_NAMES = ("https_proxy", "HTTPS_PROXY")
HTTP_PROXY_NAMES = ("http_proxy", "HTTP_PROXY")
NO_PROXY_NAMES = ("no_proxy", "NO_PROXY")
DEFAULT_PROXY_PORT = 80

_USERINFO = re.compile(r"//[^/@]*@")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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


def authority(host: str, port: int) -> str:
    """`host:port` with an IPv6 host in brackets (the CONNECT request-target form, RFC 9112 §3.2.3)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def redact(url: str) -> str:
    """The proxy URL with any ``user:password@`` replaced by ``***@``."""
    shown = url if "://" in url else "//" + url
    redacted = _USERINFO.sub("//***@", shown)
    return redacted if "://" in url else redacted.removeprefix("//")


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def proxy_for(host: str, port: int, *, tls: bool, environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy to tunnel through to ``host:port``, or None to connect directly."""
    env = os.environ if environ is None else environ
    chosen = _first(env, HTTPS_PROXY_NAMES if tls else HTTP_PROXY_NAMES)
    if chosen is None:
        return None
    no_proxy = _first(env, NO_PROXY_NAMES)
    if no_proxy is not None and bypasses(host, port, no_proxy[1]):
        return None
    return parse_proxy(chosen[1], chosen[0])


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


def _ip(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _split_entry(entry: str) -> tuple[str, int | None]:
    """A NO_PROXY entry's host and optional port: ``[::1]:80``, ``::1``, ``host:80``, ``host``."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
    else:
        return entry, None
    if not port_text:
        return host, None
    return (host, int(port_text)) if port_text.isdigit() else ("", None)


def bypasses(host: str, port: int, no_proxy: str) -> bool:
    """Whether a NO_PROXY list names ``host:port``.

    Entries are comma-separated: ``*`` (everything), an IP, a CIDR range, a host name (matching
    it and its subdomains, with or without a leading dot, as curl does), each with an optional
    ``:port``. Names are not resolved: an IP entry matches only a target given as that IP.
    """
    name = host.strip("[]").lower().rstrip(".")
    address = _ip(name)
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if address is not None and address in network:
                return True
            continue
        entry_host, entry_port = _split_entry(entry)
        if not entry_host or (entry_port is not None and entry_port != port):
            continue
        entry_ip = _ip(entry_host)
        if entry_ip is not None:
            if address is not None and address == entry_ip:
                return True
            continue
        domain = entry_host.removeprefix("*").removeprefix(".").rstrip(".")
        if domain and (name == domain or name.endswith("." + domain)):
            return True
    return False
