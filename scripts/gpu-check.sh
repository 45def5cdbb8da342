#!/usr/bin/env bash
# The GPU checks (speed, fit, serving, quality) in one short, rerunnable script (about 8 minutes on one lent GPU):
#   bash scripts/gpu-check.sh OUT_DIR [DATA_DIR]
#   1. speed bench on the GPU: the sampler against the encoder-only forward at K = 1, 4 and 8 (the
#      default), batches 1 to 512, and where its time goes (tools/sampler_profile.py);
#   2. `fit` on India-COVID-X fraction:0.1 on the GPU, timed, and the fitted classifier scored on the
#      test split;
#   3. one worker on the GPU serving a burst of 200 augment jobs through a real Redis
#      (python -m tools.service_bench load, /classify load beside it);
#   4. with the time left (BUDGET_S, default 470 s, counted from the start): the quality bench on
#      India-COVID-X fraction:0.2, seeds outer, every finished (seed, method) saved; rerunning
#      resumes it, on a fresh lease from docs/bench/india-f02-v3-h200.json.
# DATA_DIR (default gpu_check/) is made on the CPU machine by scripts/gpu-check-data.sh.
# PARTS (default 1234) picks the parts to run: PARTS=4 spends a lease on the quality bench alone.
# DEVICE=cpu and small sizes (SMOKE=1) make a dry run on any machine. OUT_DIR gets 7 files (a lease
# returns 8): speed.json/.md, sampler-profile.txt, fit-eval.json, load.json, india-f02.json/.md.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=$1
DATA=${2:-gpu_check}
BUDGET_S=${BUDGET_S:-470}
DEVICE=${DEVICE:-cuda}
BASE=${BASE:-base_models/minilm-l6-mlm-en-v3}
PY=${PYTHON:-python3}
WORK=${WORK:-/tmp/gpu-check}  # absolute: kept between calls on a warm machine (the bench resumes)
SMOKE=${SMOKE:-0}
PARTS=${PARTS:-1234}
START=$(date +%s)
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$OUT" "$WORK"
left() { echo $((BUDGET_S - ($(date +%s) - START))); }
cap() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }  # min(step limit, time left)
step() { echo; echo "== $1 ($(($(date +%s) - START)) s in, $(left) s left)"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
# The service's and the worker's packages where the image lacks them (the wheels travel in DATA_DIR)
if ! "$PY" -c "import fastapi, uvicorn, pydantic_settings, rq" 2>/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$WORK/site" "$DATA"/wheels/*.whl
    export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! command -v redis-server >/dev/null; then  # this machine's Redis, with the libraries it needs
    mkdir -p "$WORK/bin"
    printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$PWD/$DATA/redis/lib" "$PWD/$DATA/redis/redis-server" >"$WORK/bin/redis-server"
    chmod +x "$WORK/bin/redis-server" && export PATH="$WORK/bin:$PATH"
fi
redis-server --version
"$PY" -c "import torch, transformers, fastapi, rq; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, 'rq', rq.__version__)"
TEST=$DATA/india_covid_x/test.csv
if [ "$SMOKE" = 1 ]; then
    BATCHES=1,8; ROUNDS=1,8; PROFILE_BATCH=8; JOBS=6; CALLS=20; SEEDS=0; METHODS=none,diffusioncls
    FIT_FLAGS=(--proxy-epochs 1 --gen-epochs 1 --clf-epochs 1); BENCH_FLAGS=(--proxy-epochs 1 --gen-epochs 1 --clf-epochs 1 --max-test 60 --judge-texts 60)
else
    BATCHES=1,32,128,512; ROUNDS=1,4,8; PROFILE_BATCH=512; JOBS=200; CALLS=1000; SEEDS=0,1,2,3,4
    METHODS=none,diffusioncls,eda,aeda,diffusioncls-bd,mlm_substitution,lcda,embed_smote,diffusioncls-no-da,diffusioncls-no-lap,diffusioncls-no-nrt
    FIT_FLAGS=(); BENCH_FLAGS=()
fi

# EDA without WordNet is another method (bench quality refuses it); WordNet (28 MB) does not fit in
# the data that travels to a lease, so EDA is left out where the image has none.
if [[ ,$METHODS, == *,eda,* ]] && ! "$PY" -c "import sys; from training.augmenters.wordnet import find_wordnet_folder; sys.exit(find_wordnet_folder() is None)"; then
    echo "no WordNet here (apt-get install wordnet-base): the quality bench runs without eda"
    METHODS=$(echo ",$METHODS," | sed 's/,eda,/,/; s/^,//; s/,$//')
fi

want() { [[ $PARTS == *$1* ]]; }

if want 1; then
step "1. speed bench on $DEVICE"
timeout "$(cap 150)" "$PY" -m training bench speed --base "$BASE" --device "$DEVICE" --texts "$TEST" \
    --batch-sizes "$BATCHES" --rounds "$ROUNDS" --min-seconds 1 --naive-samples 2 --out "$OUT/speed.json" \
    || echo "speed bench did not finish"
timeout "$(cap 60)" "$PY" -m tools.sampler_profile --base "$BASE" --device "$DEVICE" --texts "$TEST" \
    --batch "$PROFILE_BATCH" --rounds 8 >"$OUT/sampler-profile.txt" 2>&1 || echo "profile did not finish"
head -c 4000 "$OUT/sampler-profile.txt"
fi

if want 2 || want 3; then
step "2. fit on India-COVID-X fraction:0.1 on $DEVICE"
"$PY" - "$DATA/india_covid_x/train.csv" "$WORK/india-f01.csv" <<'PY'
import csv, sys
from training.data import fraction, read_labelled
data = fraction(read_labelled(sys.argv[1]), 0.1, seed=0)
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["text", "label"])
    w.writerows(zip(data.texts, data.labels))
print(f"{len(data.texts)} texts")
PY
fit_start=$(date +%s)
timeout "$(cap 180)" "$PY" -m training fit --train "$WORK/india-f01.csv" --base "$BASE" --out "$WORK/ckpt" \
    --overwrite --device "$DEVICE" --quiet "${FIT_FLAGS[@]}" 2>&1 | grep -v "^Loading weights" | tail -n 25
echo "fit took $(($(date +%s) - fit_start)) s"
timeout "$(cap 60)" "$PY" -m training evaluate --checkpoint "$WORK/ckpt" --input "$TEST" --device "$DEVICE" \
    --out "$OUT/fit-eval.json" 2>&1 | head -n 12
fi

if want 3; then
step "3. one worker on $DEVICE, a burst of $JOBS augment jobs through Redis"
timeout --signal=INT --kill-after=20 "$(cap 150)" "$PY" -m tools.service_bench load --checkpoint "$WORK/ckpt" --workers 1 --device "$DEVICE" \
    --augment-jobs "$JOBS" --warmup-jobs 10 --classify-calls "$CALLS" --torch-threads 4 \
    --out "$OUT/load.json" || echo "load run did not finish"
fi

if want 4; then
step "4. quality bench, India-COVID-X fraction:0.2, until the budget ends"
# A fresh lease continues the runs an earlier one saved into docs/bench (the same settings: --resume
# refuses anything else); a warm machine continues its own.
SAVED=docs/bench/india-f02-v3-h200.json
[ "$SMOKE" = 1 ] || [ -f "$WORK/india-f02.json" ] || [ ! -f "$SAVED" ] || cp "$SAVED" "$WORK/india-f02.json"
timeout "$(cap 100000)" "$PY" -m training bench quality --data "$DATA/india_covid_x" --base "$BASE" \
    --setting fraction:0.2 --methods "$METHODS" --seeds "$SEEDS" --device "$DEVICE" --quiet \
    --cache "$WORK/cache" --resume --out "$WORK/india-f02.json" "${BENCH_FLAGS[@]}" 2>&1 | tail -n 40
cp "$WORK"/india-f02.json "$WORK"/india-f02.md "$OUT/" 2>/dev/null
fi
step "done"
ls -la "$OUT"
