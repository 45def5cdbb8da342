#!/usr/bin/env bash
# The main job: set up, fit a checkpoint on a labelled CSV (once), then augment it.
#   bash scripts/run.sh [train.csv] [base-model]
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN=${1:-../shared/datasets/india_covid_x/train.csv}
BASE=${2:-../shared/models/minilm-l6-mlm-en}
CKPT=${CKPT:-checkpoints/$(basename "$(dirname "$TRAIN")")}
bash scripts/setup.sh
. "${VENV:-.venv}/bin/activate"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if [ ! -f "$CKPT/diffusioncls.json" ]; then
    python -m training fit --train "$TRAIN" --base "$BASE" --out "$CKPT"
fi
python -m training augment --checkpoint "$CKPT" --input "$TRAIN" --out "$CKPT-augmented.csv" --n 4
