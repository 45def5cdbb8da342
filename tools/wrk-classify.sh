#!/usr/bin/env bash
# /classify under wrk, the independent load generator of docs/SPEED.md: serve a checkpoint in embedded
# mode on a free port, warm it up, then 3 runs of 8 s at concurrency 1 and 3 at 16, each with calls/s,
# p50 and the server's CPU time per call (read from /proc). Run `python -m tools.service_bench classify`
# beside it for the project's own figures and the offline reference.
#   bash tools/wrk-classify.sh [checkpoint] [CLASSIFY_QUANTIZE: none|int8]
# Needs Linux, Debian's `wrk` and the project's .venv (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
checkpoint=${1:-checkpoints/sample}
quantize=${2:-none}
python=${PYTHON:-.venv/bin/python}
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }
port=$($python -c "from tools.service_bench.common import free_port; print(free_port())")
log=$(mktemp -t wrk-classify-api.XXXXXX)
env -u REDIS_URL CHECKPOINT_DIR="$checkpoint" PORT="$port" DEVICE=cpu HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false LOG_LEVEL=WARNING CLASSIFY_MAX_BATCH=64 CLASSIFY_QUANTIZE="$quantize" \
    "$python" -m service >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    kill -0 $server 2>/dev/null || { echo "the API did not start:" >&2; tail -20 "$log" >&2; exit 1; }
    sleep 0.5
done
url="http://127.0.0.1:$port/classify"
wrk -t1 -c1 -d3s -s tools/wrk-classify.lua "$url" >/dev/null  # warm-up
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
echo "checkpoint $checkpoint, CLASSIFY_QUANTIZE=$quantize"
for concurrency in 1 16; do
    for run in 1 2 3; do
        before=$(cpu_ticks)
        out=$(wrk -t"$([ "$concurrency" = 1 ] && echo 1 || echo 2)" -c"$concurrency" -d8s --latency \
            -s tools/wrk-classify.lua "$url")
        after=$(cpu_ticks)
        calls=$(awk '/requests in/{print $1}' <<<"$out")
        awk -v c="$concurrency" -v r="$run" -v calls="$calls" -v ticks="$((after - before))" \
            -v hz="$(getconf CLK_TCK)" '
            /Requests\/sec/ {rps = $2} / 50%/ {p50 = $2} /Non-2xx/ {bad = $NF}
            END {printf "c%s run %s: %s calls/s, p50 %s, server CPU %.2f ms per call%s\n",
                 c, r, rps, p50, 1000 * ticks / hz / calls, bad ? ", non-2xx " bad : ""}' <<<"$out"
    done
done
