#!/usr/bin/env bash
# Installs the official safetensors Python package 0.3.3 (with numpy 1.26.4) into ./.venv
# (gitignored). Idempotent: returns at once when that version is already installed.
set -euo pipefail
cd "$(dirname "$0")"
NAME=official-python-0.3
SAFETENSORS_VERSION=0.3.3
NUMPY_VERSION=1.26.4
if [ -x .venv/bin/python ] && [ "$(cat .venv/.safetensors-version 2>/dev/null)" = "$SAFETENSORS_VERSION" ]; then
  echo "$NAME adapter: safetensors $SAFETENSORS_VERSION (already installed)"
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import sys, venv; sys.exit(sys.version_info < (3, 8))' 2>/dev/null; then
  echo "$NAME adapter: python3 (3.8 or later, with venv) not found" >&2
  exit 1
fi
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check --only-binary=:all: \
  "safetensors==${SAFETENSORS_VERSION}" "numpy==${NUMPY_VERSION}"
.venv/bin/python -c "import safetensors; assert safetensors.__version__ == '$SAFETENSORS_VERSION', safetensors.__version__"
echo "$SAFETENSORS_VERSION" > .venv/.safetensors-version
echo "$NAME adapter: safetensors $SAFETENSORS_VERSION (numpy $NUMPY_VERSION) installed in .venv"
