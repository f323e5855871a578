"""Which proxy a connection goes through: HTTPS_PROXY, HTTP_PROXY and NO_PROXY, as curl reads them.

`proxy_for(host, port, tls=…)` picks ``https_proxy`` for TLS targets and ``http_proxy`` for
plaintext ones (lower case first, as curl does; an empty value counts as unset), unless
``no_proxy`` names the host. Every proxy is used as a CONNECT tunnel (RFC 9110 §9.3.6), for
h2c too: gRPC over HTTP/2 cannot pass through a proxy that forwards absolute-form requests.

Unlike Go's net/http, loopback targets are not exempt by default: a user who sets a proxy for
127.0.0.1 means it, and ``NO_PROXY=localhost,127.0.0.1`` opts out as with curl.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rpcctl.transport.proxy import Proxy

HTTPS_PROXY_NAMES = ("https_proxy", "HTTPS_PROXY")
HTTP_PROXY_NAMES = ("http_proxy", "HTTP_PROXY")
NO_PROXY_NAMES = ("no_proxy", "NO_PROXY")
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def authority(host: str, port: int) -> str:
    """`host:port` with an IPv6 host in brackets (the CONNECT request-target form, RFC 9112 §3.2.3)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


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
    from rpcctl.transport.proxy import parse_proxy  # a proxy is the exception: its record loads then

    return parse_proxy(chosen[1], chosen[0])


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
