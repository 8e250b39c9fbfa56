#!/usr/bin/env bash
# Installs the pinned @huggingface/hub (package.json, package-lock.json) into ./node_modules
# (gitignored) with npm, outside the pnpm workspace. Idempotent: a marker holds the version.
set -euo pipefail
cd "$(dirname "$0")"
VERSION=2.17.5
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "huggingface-js-hub adapter: node and npm are required (Node >= 20)" >&2
  exit 1
fi
if [ "$(cat node_modules/.adapter-version 2>/dev/null)" != "$VERSION" ]; then
  rm -f node_modules/.adapter-version
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$VERSION" >node_modules/.adapter-version
fi
echo "huggingface-js-hub adapter: @huggingface/hub $(node -p 'require("./node_modules/@huggingface/hub/package.json").version')"
