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
for tool in wrk curl; do
    command -v $tool >/dev/null || { echo "$tool not found: apt-get install $tool" >&2; exit 2; }
done
port=$($python -c "from tools.service_bench.common import free_port; print(free_port())")
log=$(mktemp -t wrk-classify-api.XXXXXX)
env -u REDIS_URL CHECKPOINT_DIR="$checkpoint" PORT="$port" DEVICE=cpu HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false LOG_LEVEL=WARNING CLASSIFY_MAX_BATCH=64 CLASSIFY_QUANTIZE="$quantize" \
    "$python" -m service >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
ready=no
for _ in $(seq 600); do
    if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then ready=yes; break; fi
    kill -0 $server 2>/dev/null || break
    sleep 0.5
done
[ $ready = yes ] || { echo "the API did not become ready:" >&2; tail -20 "$log" >&2; exit 1; }
url="http://127.0.0.1:$port/classify"
# The project tool's texts, one per line, handed to the Lua script as its arguments.
mapfile -t texts < <("$python" -c "from tools.service_bench.common import CLASSIFY_TEXTS, SAMPLE_TEXTS
print('\n'.join(SAMPLE_TEXTS + CLASSIFY_TEXTS))")
wrk -t1 -c1 -d3s -s tools/wrk-classify.lua "$url" -- "${texts[@]}" >/dev/null  # warm-up
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
echo "checkpoint $checkpoint, CLASSIFY_QUANTIZE=$quantize"
for concurrency in 1 16; do
    for run in 1 2 3; do
        before=$(cpu_ticks)
        out=$(wrk -t"$([ "$concurrency" = 1 ] && echo 1 || echo 2)" -c"$concurrency" -d8s --latency \
            -s tools/wrk-classify.lua "$url" -- "${texts[@]}")
        after=$(cpu_ticks)
        calls=$(awk '/requests in/{print $1}' <<<"$out")
        [ "${calls:-0}" -gt 0 ] || { echo "wrk made no calls:" >&2; echo "$out" >&2; exit 1; }
        awk -v c="$concurrency" -v r="$run" -v calls="$calls" -v ticks="$((after - before))" \
            -v hz="$(getconf CLK_TCK)" '
            /Requests\/sec/ {rps = $2} / 50%/ {p50 = $2} /Non-2xx/ {bad = $NF} /Socket errors/ {sock = $0}
            END {printf "c%s run %s: %s calls/s, p50 %s, server CPU %.2f ms per call%s%s\n",
                 c, r, rps, p50, 1000 * ticks / hz / calls, bad ? ", non-2xx " bad : "",
                 sock ? "," sock : ""}' <<<"$out"
    done
done
