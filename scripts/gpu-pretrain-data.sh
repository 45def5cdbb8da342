#!/usr/bin/env bash
# Make the DATA_DIR of scripts/gpu-pretrain.sh from ../shared, small enough to travel to a GPU lease
# with the working tree (64 MB in all, the 45 MB base included):
#   bash scripts/gpu-pretrain-data.sh [SHARED_DIR] [DATA_DIR] [REVIEWS]
# REVIEWS: how many unlabelled reviews to take, from the start of the corpus (default 40000, 14 MB).
# Only train splits are packed for training; the india_covid_x and emotion_dair test splits go along
# to be scored, never trained on. Keep DATA_DIR out of git (e.g. in .git/info/exclude).
set -euo pipefail
SHARED=${1:-../shared}
DATA=${2:-gpu_data}
REVIEWS=${3:-40000}
mkdir -p "$DATA"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for d in ag_news emotion_dair india_covid_x senwave_en sst2 uci_imdb_sentences uci_yelp_sentences uci_amazon_sentences; do
    mkdir -p "$WORK/$d" && cp "$SHARED/datasets/$d/train.csv" "$WORK/$d/"
done
for d in india_covid_x emotion_dair; do cp "$SHARED/datasets/$d/test.csv" "$WORK/$d/"; done
tar cf - -C "$WORK" . | xz -9e -T2 >"$DATA/datasets.tar.xz"
zcat "$SHARED/corpora/en/imdb_reviews_train_unsup.txt.gz" | head -n "$REVIEWS" | xz -9e -T2 >"$DATA/reviews.txt.xz"
cp "$SHARED/corpora/en/imdb_reviews_heldout.txt.gz" "$DATA/"
ls -la "$DATA"
