#!/bin/sh
# Redis primary or replica (extra arguments: --replicaof, --replica-announce-ip). The password goes
# through a file so that it is not on the command line; nothing is persisted (Redis holds no durable
# state: rate-limit counters, persisted-query cache, read-your-writes markers).
set -eu
umask 077
printf 'requirepass "%s"\nmasterauth "%s"\n' "${REDIS_PASSWORD:?}" "$REDIS_PASSWORD" > /data/auth.conf
exec redis-server /data/auth.conf --port 6379 --save "" --appendonly no "$@"
