#!/usr/bin/env bash
# Installs huggingface_hub, pinned with every dependency in requirements.txt, into ./.venv
# (gitignored). Idempotent: returns at once when .venv already holds exactly these pins.
set -euo pipefail
cd "$(dirname "$0")"
name="huggingface-hub-py adapter"
version=$(sed -n 's/^huggingface[-_]hub==//p' requirements.txt)
if [ -f .venv/.installed ] && cmp -s requirements.txt .venv/.installed; then
  echo "$name: huggingface_hub $version (already installed)"
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "$name: python3 not found; install Python 3.11 or later" >&2
  exit 1
fi
rm -rf .venv
if ! python3 -m venv .venv >/dev/null 2>&1; then
  echo "$name: python3 -m venv failed; install the venv module (Debian: python3-venv)" >&2
  exit 1
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
cp requirements.txt .venv/.installed
.venv/bin/python -c "import huggingface_hub as h; print('$name: huggingface_hub', h.__version__)"
