"""HTTP CONNECT tunnels through a proxy (RFC 9110 §9.3.6, request-target form RFC 9112 §3.2.3).

The client sends ``CONNECT host:port HTTP/1.1`` with ``Host`` (and ``Proxy-Authorization``);
any 2xx answer turns the connection into a byte tunnel to the target, anything else is a
refusal. The proxy's credentials are never part of an error message.
"""

from __future__ import annotations

import asyncio

from rpcctl.errors import TransportError
from rpcctl.transport.handover import Handover, HeadTooLarge
from rpcctl.transport.proxy import Proxy

MAX_RESPONSE_HEAD = 16 * 1024
"""Bytes a proxy's answer to CONNECT may take before it is given up on."""

MAX_INTERIM_RESPONSES = 8
"""1xx answers skipped before the final one (RFC 9110 §15.2), so a chatty proxy cannot loop us."""

_REASON_LIMIT = 80


def connect_request(target: str, proxy: Proxy) -> bytes:
    """The CONNECT request head for ``target`` (``host:port``)."""
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if proxy.authorization is not None:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _status(head: bytes) -> tuple[int, str] | None:
    """The status code and a printable reason phrase of a response head, or None if not HTTP/1.x."""
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
        return None
    raw_reason = parts[2] if len(parts) == 3 else b""
    reason = "".join(c if c.isprintable() else "?" for c in raw_reason.decode("latin-1"))
    return int(parts[1]), reason[:_REASON_LIMIT]


def _refusal(proxy: Proxy, target: str, code: int, reason: str) -> str:
    message = f"proxy {proxy.address} refused CONNECT to {target}: {code} {reason}".rstrip()
    if code == 407:
        variable = proxy.variable or "the proxy URL"
        if proxy.authorization is None:
            message += f" (put user:password@ in {variable})"
        else:
            message += f" (the credentials in {variable} were not accepted)"
    return message


async def open_tunnel(transport: asyncio.Transport, handover: Handover, proxy: Proxy, target: str) -> None:
    """Ask the proxy on ``transport`` for a tunnel to ``target``; `TransportError` unless it agrees.

    Bytes that follow the proxy's 2xx head stay in ``handover``: they are the target's.
    """
    transport.write(connect_request(target, proxy))
    for _ in range(MAX_INTERIM_RESPONSES + 1):
        try:
            head = await handover.read_head(MAX_RESPONSE_HEAD)
        except HeadTooLarge:
            raise TransportError(
                f"proxy {proxy.address} sent an answer to CONNECT longer than {MAX_RESPONSE_HEAD} bytes"
            ) from None
        if head is None:
            raise TransportError(
                f"proxy {proxy.address} closed the connection instead of answering CONNECT to {target}"
            )
        status = _status(head)
        if status is None:
            raise TransportError(
                f"proxy {proxy.address} answered CONNECT to {target} with something not HTTP/1.x"
            )
        code, reason = status
        if 100 <= code < 200:
            continue
        if 200 <= code < 300:
            return
        raise TransportError(_refusal(proxy, target, code, reason))
    raise TransportError(f"proxy {proxy.address} sent too many interim answers to CONNECT to {target}")
