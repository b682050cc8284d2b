#!/bin/sh
# Creates (if missing) and migrates Temporal's two PostgreSQL databases: persistence
# and visibility. Run by the one-shot temporal-schema service (temporalio/admin-tools
# image) before the server starts, the way temporalio/samples-server's compose files do.
#
# Safe to run on every `docker compose up`: temporal-sql-tool's `create` ignores an
# existing database, `setup-schema -v 0.0` leaves a database already past 0.0 alone,
# and `update-schema` applies only the versions not yet recorded. After upgrading the
# server image (and the admin-tools image with it), this is what migrates the schema.
#
# Connection settings: SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER are passed as flags;
# the password stays in the environment (SQL_PASSWORD, which temporal-sql-tool reads),
# so it never shows on a command line.
set -eu

: "${SQL_PLUGIN:=postgres12}"
: "${SQL_HOST:=postgresql}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:=temporal}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}"
: "${TEMPORAL_DB:=temporal}"
: "${TEMPORAL_VISIBILITY_DB:=temporal_visibility}"
export SQL_PASSWORD

# The admin-tools image's paths; outside it (make chaos-cluster) the schema comes from the
# go.temporal.io/server module and the tool is built from its cmd/tools/sql.
: "${SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"
: "${SQL_TOOL:=temporal-sql-tool}"

if command -v nc >/dev/null 2>&1; then
  echo "Waiting for PostgreSQL at ${SQL_HOST}:${SQL_PORT}..."
  i=0
  until nc -z "$SQL_HOST" "$SQL_PORT"; do
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then
      echo "PostgreSQL did not accept connections within 60s" >&2
      exit 1
    fi
    sleep 1
  done
fi

sql_tool() {
  "$SQL_TOOL" --plugin "$SQL_PLUGIN" --ep "$SQL_HOST" -p "$SQL_PORT" -u "$SQL_USER" "$@"
}

migrate() {
  db=$1
  dir=$2
  echo "Temporal schema: database ${db}"
  sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "${SCHEMA_DIR}/${dir}/versioned"
}

migrate "$TEMPORAL_DB" temporal
migrate "$TEMPORAL_VISIBILITY_DB" visibility

echo "Temporal schema is up to date."
