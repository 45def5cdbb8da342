#!/usr/bin/env bash
# A separate interpreter with nlpaug for the speed benchmark's comparison (bench speed --nlpaug-python).
# nlpaug 1.1.11 calls a tokenizer method that transformers 5 removed, so it gets its own venv with
# transformers 4.x; torch is the same CPU build as the project's.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv-nlpaug}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet torch==2.13.0
"$VENV/bin/python" -m pip install --quiet "transformers>=4.40,<5" nlpaug==1.1.11
echo "$VENV/bin/python"
