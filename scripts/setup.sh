#!/usr/bin/env bash
# Install riskmap and everything it needs on a fresh machine (idempotent).
#   bash scripts/setup.sh          # the app and the command line
#   bash scripts/setup.sh --test   # also Debian's chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
# exact versions from the lock file (requirements.txt lists the ranges it is compiled from)
"$PY" -m pip install --quiet --disable-pip-version-check -r requirements.lock
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps -e .

if [[ "${1:-}" == "--test" ]] && ! { command -v chromium && command -v pdftoppm; } >/dev/null 2>&1; then
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core poppler-utils >/dev/null
fi
