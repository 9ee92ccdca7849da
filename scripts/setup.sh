#!/usr/bin/env bash
# Install riskmap and everything it needs on a fresh machine (idempotent).
#   bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
"$PY" -m pip install --quiet --disable-pip-version-check -r requirements.txt
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps -e .
