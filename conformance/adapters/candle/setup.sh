#!/usr/bin/env bash
# Builds the adapter against candle-core 0.11.1 (default features: CPU only). Cargo.toml pins
# the direct dependencies exactly and Cargo.lock.pinned the whole graph; the build is --locked,
# two jobs unless CARGO_BUILD_JOBS says otherwise (a cold build is long: see README.md). Returns at once when this version is built.
set -euo pipefail
cd "$(dirname "$0")"
VERSION=0.11.1
export CARGO_TARGET_DIR="$PWD/target"
bin=target/release/safetensors-conformance-candle
stamp="$VERSION $(cat Cargo.toml Cargo.lock.pinned src/main.rs | sha256sum | cut -c1-16)"
if [ -x "$bin" ] && [ "$(cat target/release/.adapter-stamp 2>/dev/null)" = "$stamp" ]; then
  echo "candle adapter: candle-core $VERSION (already built)"
  exit 0
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "candle adapter: cargo not found; install a Rust toolchain (this adapter is built with 1.95)" >&2
  exit 1
fi
# Cargo.lock.pinned is the lockfile with each registry source written as @REGISTRY@ (the
# project names no registry host in its files). cargo itself says how it names the default
# registry: a throwaway resolution, whose source line replaces the placeholder.
if [ ! -f Cargo.lock ]; then
  cargo generate-lockfile --quiet
fi
source_line=$(awk -F'"' '/^source = "registry\+/ { print $2; exit }' Cargo.lock)
if [ -z "$source_line" ]; then
  echo "candle adapter: cannot tell how cargo names the default registry" >&2
  exit 1
fi
sed "s|@REGISTRY@|$source_line|" Cargo.lock.pinned > Cargo.lock
cargo build --release --locked --quiet -j "${CARGO_BUILD_JOBS:-2}"
echo "$stamp" > target/release/.adapter-stamp
echo "candle adapter: candle-core $VERSION, built $bin"
