#!/usr/bin/env bash
# The test command of the README: set up (idempotent), lint and type-check, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. "${VENV:-.venv}/bin/activate"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
ruff check .
ruff format --check . >/dev/null || { echo "ruff format would change files: run ruff format ." >&2; exit 1; }
mypy training service worker tools
python -m pytest -q "$@"
