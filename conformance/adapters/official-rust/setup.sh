#!/usr/bin/env bash
# Builds the adapter against the pinned official safetensors crate (Cargo.lock).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --locked --quiet
echo "official-rust adapter: built target/release/safetensors-conformance-official-rust"
