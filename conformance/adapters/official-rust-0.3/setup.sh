#!/usr/bin/env bash
# Builds the adapter against the official safetensors crate 0.3.3. Cargo.toml pins the direct
# dependencies exactly and Cargo.lock.pinned the whole graph; the build is --locked.
# Idempotent: returns at once when the binary for this version and these sources is built.
set -euo pipefail
cd "$(dirname "$0")"
VERSION=0.3.3
NAME=official-rust-0.3
export CARGO_TARGET_DIR="$PWD/target"
# The marker holds the version and a digest of what the binary is built from.
stamp="$VERSION $(cat Cargo.toml Cargo.lock.pinned src/main.rs | sha256sum | cut -c1-16)"
if [ -x target/release/adapter ] && [ "$(cat target/release/.safetensors-version 2>/dev/null)" = "$stamp" ]; then
  echo "$NAME adapter: safetensors $VERSION (already built)"
  exit 0
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "$NAME adapter: cargo not found; install a Rust toolchain (1.74 or later)" >&2
  exit 1
fi
# Cargo.lock.pinned is the lockfile with each registry source written as @REGISTRY@ (the
# project names no registry host in its files). cargo itself says how it names the default
# registry: a throwaway resolution, whose source line replaces the placeholder.
if [ ! -f Cargo.lock ]; then
  cargo generate-lockfile --quiet
fi
source_line=$(sed -n 's/^source = "\(registry+[^"]*\)"$/\1/p' Cargo.lock | head -n 1)
if [ -z "$source_line" ]; then
  echo "$NAME adapter: cannot tell how cargo names the default registry" >&2
  exit 1
fi
sed "s|@REGISTRY@|$source_line|" Cargo.lock.pinned > Cargo.lock
cargo build --release --locked --quiet -j1
echo "$stamp" > target/release/.safetensors-version
echo "$NAME adapter: safetensors $VERSION, built target/release/adapter"
