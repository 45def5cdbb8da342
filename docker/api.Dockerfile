# The API: validates requests, enqueues augment jobs on Redis, answers /classify on the CPU.
# Build from the repository root: docker compose build api (or docker build -f docker/api.Dockerfile .)
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /app
# The CPU build of torch first and pinned: /classify needs no GPU, and an unpinned torch would pull
# gigabytes of CUDA wheels.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY training ./training
COPY worker ./worker
COPY service ./service
RUN pip install . && useradd --create-home --uid 10001 app

USER app
# Models load from the mounted checkpoint folder only; nothing is fetched at run time.
ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CHECKPOINT_DIR=/checkpoint \
    HOST=0.0.0.0 \
    PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
CMD ["python", "-m", "service"]
