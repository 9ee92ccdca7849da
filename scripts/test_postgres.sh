#!/usr/bin/env bash
# A throwaway PostgreSQL + PostGIS server for the database tests (docs/DATABASE.md).
#   eval "$(bash scripts/test_postgres.sh start)"   # starts it, prints: export RISKMAP_TEST_PG=... RISKMAP_TEST_PG_DIR=...
#   bash scripts/test_postgres.sh stop              # stops it and removes its folder
# The cluster lives in a temporary folder, listens on a Unix socket only (port 54329 by default, PGPORT to change),
# and is owned by the current user, or by the user "postgres" when run as root (PostgreSQL refuses to run as root).
set -euo pipefail
PORT=${PGPORT_TEST:-54329}
BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[[ -x "$BIN/initdb" ]] || { echo "PostgreSQL server binaries not found (apt-get install postgresql postgis)" >&2; exit 1; }

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    DIR=$(mktemp -d /tmp/riskmap-pg.XXXXXX)
    chmod 755 "$DIR"
    [[ $(id -u) -eq 0 ]] && chown postgres "$DIR"
    as_owner "$BIN/initdb" -D "$DIR/data" -U riskmap --auth=trust -E UTF8 --no-locale >/dev/null
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 start \
        -o "-k $DIR -p $PORT -c listen_addresses='' -c fsync=off -c max_connections=200" >/dev/null
    as_owner "$BIN/createdb" -h "$DIR" -p "$PORT" -U riskmap riskmap_test
    as_owner "$BIN/psql" -q -h "$DIR" -p "$PORT" -U riskmap -d riskmap_test -c "CREATE EXTENSION IF NOT EXISTS postgis"
    echo "export RISKMAP_TEST_PG='postgresql://riskmap@/riskmap_test?host=$DIR&port=$PORT' RISKMAP_TEST_PG_DIR='$DIR'"
    ;;
stop)
    DIR=${RISKMAP_TEST_PG_DIR:?set by start}
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null || true
    rm -rf "$DIR"
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
