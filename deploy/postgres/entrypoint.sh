#!/bin/sh
# Entrypoint of both PostgreSQL services, in front of the image's own docker-entrypoint.sh.
set -eu
# PostgreSQL wants its key owned by its own user with mode 0600, and compose mounts secrets with the
# host's owner and mode: copy certificate, key and CA to where the server (and its WAL receiver) reads them.
tls=/var/lib/postgresql/tls
install -d -o postgres -g postgres -m 0700 "$tls"
install -o postgres -g postgres -m 0644 /run/secrets/db_cert "$tls/server.crt"
install -o postgres -g postgres -m 0600 /run/secrets/db_key "$tls/server.key"
install -o postgres -g postgres -m 0644 /run/secrets/ca "$tls/ca.pem"

if [ -n "${PRIMARY_HOST:-}" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  # First start of a replica: a copy of the primary that then streams from it. -R writes the connection
  # (with the password) into postgresql.auto.conf, so later starts find their primary on their own.
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  gosu postgres env PGPASSWORD="${REPLICATION_PASSWORD:?}" pg_basebackup \
    --dbname="host=$PRIMARY_HOST port=5432 user=replicator sslmode=verify-full sslrootcert=$tls/ca.pem application_name=${HOSTNAME:-replica}" \
    --pgdata="$PGDATA" --write-recovery-conf --wal-method=stream --checkpoint=fast
fi
exec docker-entrypoint.sh "$@"
