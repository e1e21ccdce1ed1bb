#!/bin/sh
# First start of the primary (run once from /docker-entrypoint-initdb.d/): the app's role and database,
# and the role the replica streams with. tests/scaleout/test_reference_topology.py runs this file too.
set -eu
: "${APP_DB_PASSWORD:?}" "${REPLICATION_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  --set app_password="$APP_DB_PASSWORD" --set replication_password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE app LOGIN PASSWORD :'app_password';
-- Replicas report their WAL receiver only to this role's members: without it a replica cut off from
-- the primary looks caught up to the app (docs/deployment.md, "Read replicas").
GRANT pg_read_all_stats TO app;
CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'replication_password';
CREATE DATABASE mi OWNER app;
SQL
