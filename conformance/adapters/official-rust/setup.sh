#!/usr/bin/env bash
# Builds the adapter against the official safetensors crate, pinned exactly in Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --quiet
echo "official-rust adapter: built target/release/safetensors-conformance-official-rust"
