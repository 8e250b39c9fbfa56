#!/usr/bin/env bash
# Installs pure-safetensors, pinned with every dependency in requirements.txt, into ./.venv
# (gitignored). Idempotent: returns at once when .venv already holds exactly these pins.
# marshmallow stays on 3.x: pure-safetensors 0.3.2 passes `context=` to a Schema, which
# marshmallow 4 removed (every read then fails with a TypeError).
set -euo pipefail
cd "$(dirname "$0")"
name="pure-safetensors adapter"
version=$(sed -n 's/^pure-safetensors==//p' requirements.txt)
if [ -f .venv/.installed ] && cmp -s requirements.txt .venv/.installed; then
  echo "$name: pure-safetensors $version (already installed)"
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
.venv/bin/python -c "import importlib.metadata as m; print('$name: pure-safetensors', m.version('pure-safetensors'))"
