#!/usr/bin/env bash
# Installs the pinned @jax-js/loaders (package.json, package-lock.json) into ./node_modules
# (gitignored) with npm, outside the pnpm workspace. Idempotent: a marker holds the version.
set -euo pipefail
cd "$(dirname "$0")"
VERSION=0.1.1
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "jax-js-loaders adapter: node and npm are required (Node >= 20)" >&2
  exit 1
fi
if [ "$(cat node_modules/.adapter-version 2>/dev/null)" != "$VERSION" ]; then
  rm -f node_modules/.adapter-version
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$VERSION" >node_modules/.adapter-version
fi
echo "jax-js-loaders adapter: @jax-js/loaders $(node -p 'require("./node_modules/@jax-js/loaders/package.json").version')"
