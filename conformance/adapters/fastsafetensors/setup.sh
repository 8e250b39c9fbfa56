#!/usr/bin/env bash
# Installs fastsafetensors, pinned with every dependency in requirements.txt, into ./.venv
# (gitignored), without torch (an optional extra the adapter does not use). Idempotent:
# returns at once when .venv already holds exactly these pins.
set -euo pipefail
cd "$(dirname "$0")"
name="fastsafetensors adapter"
version=$(sed -n 's/^fastsafetensors==//p' requirements.txt)
if [ -f .venv/.installed ] && cmp -s requirements.txt .venv/.installed; then
  echo "$name: fastsafetensors $version (already installed)"
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
.venv/bin/python -c "import importlib.metadata as m; print('$name: fastsafetensors', m.version('fastsafetensors'))"
