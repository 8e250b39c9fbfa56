#!/usr/bin/env bash
# Installs the pinned official safetensors Python package into ./.venv (gitignored).
set -euo pipefail
cd "$(dirname "$0")"
SAFETENSORS_VERSION=0.8.0
NUMPY_VERSION=2.4.6
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check "safetensors==${SAFETENSORS_VERSION}" "numpy==${NUMPY_VERSION}"
.venv/bin/python -c "import safetensors; print('official-python adapter: safetensors', safetensors.__version__)"
