#!/usr/bin/env bash
# Make the folder scripts/gpu-check.sh needs on a GPU lease, small enough to travel with the working
# tree (64 MB in all, the 45 MB base included), from ../shared and this machine:
#   bash scripts/gpu-check-data.sh [SHARED_DIR] [DATA_DIR]
# DATA_DIR (default gpu_check/, git-ignored) gets:
#   india_covid_x/{train,test}.csv  the fit, the quality bench and the speed bench's texts
#   wheels/                         what the lease's image lacks for the service and the worker
#                                   (fastapi, uvicorn, pydantic, redis, rq, ...) for CPython 3.12
#   redis/redis-server, redis/lib/  this machine's Redis server and the libraries the image may lack
set -euo pipefail
SHARED=${1:-../shared}
DATA=${2:-gpu_check}
PY_VERSION=${PY_VERSION:-3.12}
mkdir -p "$DATA/india_covid_x" "$DATA/wheels" "$DATA/redis/lib"
cp "$SHARED/datasets/india_covid_x/train.csv" "$SHARED/datasets/india_covid_x/test.csv" "$DATA/india_covid_x/"
python3 -m pip download -q --only-binary=:all: --python-version "$PY_VERSION" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$DATA/wheels" fastapi uvicorn "pydantic>=2.7,<3" pydantic-settings "redis>=5" "rq>=3.0,<4"
server=$(command -v redis-server) || { echo "error: no redis-server on this machine to pack (apt-get install redis-server)" >&2; exit 1; }
cp "$(readlink -f "$server")" "$DATA/redis/redis-server"
# liblzf and jemalloc are rarely in a CUDA image; OpenSSL 3 and libsystemd are (Python itself needs OpenSSL)
for lib in liblzf.so.1 libjemalloc.so.2 libatomic.so.1; do
    path=$(ldd "$server" | awk -v l="$lib" '$1 == l {print $3}')
    [ -n "$path" ] && cp -L "$path" "$DATA/redis/lib/"
done
du -sh "$DATA"/*
