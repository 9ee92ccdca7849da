#!/usr/bin/env bash
# Install riskmap and everything it needs on a fresh machine (idempotent).
#   bash scripts/setup.sh          # the app and the command line
#   bash scripts/setup.sh --test   # also Debian's chromium for the browser tests, and PostgreSQL + PostGIS
#                                  # for the database tests (scripts/test_postgres.sh starts a throwaway server)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
# exact versions from the lock file (requirements.txt lists the ranges it is compiled from)
"$PY" -m pip install --quiet --disable-pip-version-check -r requirements.lock
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps -e .

have_postgis() {  # server binaries and the PostGIS extension (postgresql-15-postgis-3 on Debian 12)
    ls /usr/lib/postgresql/*/bin/initdb /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1
}
if [[ "${1:-}" == "--test" ]] && ! { command -v chromium && command -v pdftoppm && have_postgis; } >/dev/null 2>&1; then
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core poppler-utils \
        postgresql postgis postgresql-postgis >/dev/null
fi
