#!/usr/bin/env bash
# Create .venv (once) with the CPU build of torch 2.13.0 and this project in editable mode (with the
# dev tools and the default base model).
# torch is installed first and pinned: an unpinned torch would pull several GB of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
. "$VENV/bin/activate"
if ! python -c "import torch" >/dev/null 2>&1; then
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet torch==2.13.0
fi
python -m pip install --quiet -e ".[dev,base-model]"
