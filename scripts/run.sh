#!/usr/bin/env bash
# The quickstart: install, fit a checkpoint (once), then serve the API in embedded mode (no Redis).
#   bash scripts/run.sh [train.csv] [base-model]
# Defaults: the shipped sample data/sample/train.csv and the shipped English base model
# base_models/minilm-l6-mlm-en-v3 (any HF id or folder works as the second argument or BASE_MODEL).
# Environment: CHECKPOINT_DIR (where the checkpoint goes), HOST, PORT, API_KEY, and the settings in
# the README; BASE_MODEL instead of the second argument.
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN=${1:-data/sample/train.csv}
BASE=${2:-${BASE_MODEL:-}}
# What this run asked for explicitly (an existing checkpoint is checked against these only)
ASKED_TRAIN=${1:-}
ASKED_BASE=$BASE
[ -f "$TRAIN" ] || { echo "error: $TRAIN does not exist (give a text,label CSV/TSV/JSONL)" >&2; exit 2; }
NAME=$(basename "$TRAIN")
NAME=${NAME%.*}
[ "$TRAIN" = "data/sample/train.csv" ] && NAME=sample
CKPT=${CHECKPOINT_DIR:-checkpoints/$NAME}

STARTED=$(date +%s)
echo "== set-up: .venv with torch (CPU build without an NVIDIA GPU) and this project (first run: 2-4 min)"
bash scripts/setup.sh
. "${VENV:-.venv}/bin/activate"
export TOKENIZERS_PARALLELISM=false
# The shipped English base (base_models/, see its README): a masked LM the generator starts from.
BASE=${BASE:-base_models/minilm-l6-mlm-en-v3}
if [ ! -f "$CKPT/diffusioncls.json" ]; then
    echo "== fit: $TRAIN on $BASE -> $CKPT (progress below; Ctrl-C is safe, nothing half-written is kept)"
    # A local base loads offline; an HF id (e.g. bert-base-uncased) is downloaded unless HF_HUB_OFFLINE=1.
    python -m training fit --train "$TRAIN" --base "$BASE" --out "$CKPT"
else
    # An existing checkpoint is served as it is: say what it was fitted on, and refuse when this run
    # explicitly asked for other data or another base, rather than serving the old one silently.
    python - "$CKPT" "$ASKED_TRAIN" "$ASKED_BASE" <<'PY' || exit 2
import json, os, sys
ckpt, train, base = sys.argv[1:]
body = json.load(open(os.path.join(ckpt, "diffusioncls.json")))
was_train, was_base = body.get("data", {}).get("source", "?"), body.get("base_model", "?")
def same(a, b):
    return a == b or (os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b))
for what, asked, was in (("data", train, was_train), ("base", base, was_base)):
    if asked and not same(asked, was):  # empty: not asked for, the checkpoint's is fine
        sys.exit(f"error: this run asks for {what} {asked} but {ckpt} was fitted on {was}: delete "
                 f"{ckpt} to fit it again, or set CHECKPOINT_DIR to another folder")
print(f"== fit: skipped, {ckpt} exists (fitted on {was_train} with base {was_base})")
PY
fi
echo "== ready after $(( $(date +%s) - STARTED )) s"

unset REDIS_URL  # embedded mode: the API runs the jobs itself
export HF_HUB_OFFLINE=1 CHECKPOINT_DIR="$CKPT" HOST="${HOST:-127.0.0.1}" PORT="${PORT:-8000}"
LABEL=$(python -c "import json, sys; labels = json.load(open(sys.argv[1]))['labels']; print('joy' if 'joy' in labels else labels[0])" "$CKPT/diffusioncls.json")
URL="http://$HOST:$PORT"
KEY_HEADER=""
[ -n "${API_KEY:-}" ] && KEY_HEADER=" -H 'X-API-Key: \$API_KEY'"
cat <<EOF

== serving $CKPT at $URL (embedded mode; Ctrl-C stops)
Open $URL/ in a browser for the playground ($URL/#example runs an example), $URL/docs for the API.
Try, from another terminal, once $URL/readyz answers 200:
  curl -s$KEY_HEADER $URL/info
  curl -s$KEY_HEADER -X POST $URL/augment -H 'Content-Type: application/json' \\
       -d '{"items": [{"text": "We spent the whole afternoon at the beach and it was perfect.", "label": "$LABEL"}], "n": 3, "seed": 1}'
  curl -s$KEY_HEADER $URL/jobs/<id from the answer above>
  curl -s$KEY_HEADER -X POST $URL/classify -H 'Content-Type: application/json' -d '{"texts": ["I cannot believe they cancelled my flight again."]}'

EOF
exec python -m service
