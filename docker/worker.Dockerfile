# The worker: loads the checkpoint once and runs augment jobs from Redis, on the GPU when one is
# reserved for it (DEVICE=auto), on the CPU otherwise.
# Build from the repository root: docker compose build worker (or docker build -f docker/worker.Dockerfile .)
# By default a slim Python image with torch's CPU build (about 1 GB); the GPU override
# (docker/compose.gpu.yml) builds it on PyTorch's CUDA image instead, with TORCH_INDEX empty.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY training ./training
COPY worker ./worker
COPY service ./service
# The CUDA image's torch satisfies torch>=2.3,<2.14, so pip keeps it; a slim base gets the CPU build
# from TORCH_INDEX first (a bare `pip install .` there would pull several GB of CUDA wheels).
RUN if [ -n "$TORCH_INDEX" ]; then pip install --index-url "$TORCH_INDEX" "torch==2.13.0"; fi \
    && pip install . && useradd --create-home --uid 10001 app

USER app
ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CHECKPOINT_DIR=/checkpoint \
    DEVICE=auto
CMD ["python", "-m", "worker"]
