#!/bin/sh
# One of the three sentinels watching `mymaster`. Sentinel rewrites its file as it learns (peers,
# failovers), so the file is written only on the container's first start.
set -eu
umask 077
if [ ! -f /data/sentinel.conf ]; then
  cat > /data/sentinel.conf <<CONF
port 26379
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel monitor mymaster redis-primary 6379 2
sentinel auth-pass mymaster ${REDIS_PASSWORD:?}
sentinel down-after-milliseconds mymaster 5000
sentinel failover-timeout mymaster 60000
sentinel parallel-syncs mymaster 1
CONF
fi
exec redis-server /data/sentinel.conf --sentinel
