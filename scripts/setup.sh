#!/usr/bin/env bash
# Create .venv (once) with the CPU build of torch 2.13.0 and this project in editable mode, with its
# dev tools (the default base model needs no install: it ships in base_models/).
# torch is installed first and pinned: an unpinned torch would pull several GB of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}  # another interpreter: PYTHON=python3.12 bash scripts/setup.sh
if [ ! -x "$VENV/bin/python" ]; then
    # pyproject.toml asks for 3.11+: say so now rather than after pip has resolved everything
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        found=$("$PYTHON" -c 'import platform; print("Python", platform.python_version())' 2>/dev/null || echo "not a Python")
        echo "error: $PYTHON is $found; this project needs Python 3.11 or newer" >&2
        echo "       (set PYTHON=python3.11 or newer, e.g. PYTHON=python3.12 bash scripts/setup.sh)" >&2
        exit 2
    fi
    if ! "$PYTHON" -m venv "$VENV"; then
        echo "error: '$PYTHON -m venv' failed; on Debian or Ubuntu: apt-get install python3-venv" >&2
        exit 2
    fi
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
