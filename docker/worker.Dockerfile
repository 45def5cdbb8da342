# The worker: loads the checkpoint once and runs augment jobs from Redis, on the GPU when one is
# reserved for it (DEVICE=auto), on the CPU otherwise.
# Build from the repository root: docker compose build worker (or docker build -f docker/worker.Dockerfile .)
# The CPU override (docker/compose.cpu.yml) builds it on python:3.12-slim with TORCH_INDEX set to
# PyTorch's CPU wheels instead: about 1 GB instead of the multi-GB CUDA image.
ARG BASE_IMAGE=pytorch/pytorch:2.7.1-cuda12.6-cudnn9-runtime
FROM ${BASE_IMAGE}
ARG TORCH_INDEX=

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
