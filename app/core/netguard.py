"""Outbound URLs given by members (webhooks): refuse private, loopback and other internal addresses
in production (server-side request forgery)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeUrl(ValueError):
    """The URL may not be called from the server."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url_shape(url: str, *, allow_private: bool) -> str:
    """The URL's host, when it is an http(s) URL that may be called; UnsafeUrl otherwise.

    Production (`allow_private=False`) also wants https and refuses IP literals that are not public
    and names that only resolve inside the host (`localhost`).
    """
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise UnsafeUrl("The URL must be an absolute http or https URL.")
    if parts.username or parts.password:
        raise UnsafeUrl("The URL must not carry credentials.")
    if allow_private:
        return host
    if parts.scheme != "https":
        raise UnsafeUrl("The URL must use https.")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise UnsafeUrl("The URL must point to a public address.")
    try:
        public = _is_public(host)
    except ValueError:  # a name, checked when it is resolved
        return host
    if not public:
        raise UnsafeUrl("The URL must point to a public address.")
    return host


async def check_resolved(host: str, port: int) -> None:
    """Resolve `host` and refuse it when any of its addresses is not public (called before each
    production delivery, so a name that later points inside is refused too)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeUrl(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        if not _is_public(str(info[4][0])):
            raise UnsafeUrl(f"{host} resolves to a non-public address")
