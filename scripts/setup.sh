#!/usr/bin/env bash
# Create .venv (once) with the CPU build of torch 2.13.0 and this project in editable mode, with its
# dev tools (the default base model needs no install: it ships in base_models/).
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
    echo "== installing torch 2.13.0 (about 200 MB for the CPU build; a few minutes on a slow line)"
    if command -v nvidia-smi >/dev/null 2>&1; then
        python -m pip install --quiet torch==2.13.0  # the CUDA build from the configured index
    else
        # No NVIDIA GPU: PyTorch's own CPU wheel index, else the configured index (which serves the CPU
        # build on machines set up that way; plain PyPI would pull several GB of CUDA packages).
        python -m pip install --quiet --timeout 15 --retries 1 torch==2.13.0 \
            --index-url "${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}" 2>/dev/null \
            || python -m pip install --quiet torch==2.13.0
    fi
fi
echo "== installing the project and its dependencies"
python -m pip install --quiet -e ".[dev]"
