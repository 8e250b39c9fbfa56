#!/usr/bin/env bash
# Builds the adapter against github.com/gomlx/go-huggingface, pinned exactly in go.mod
# (go.sum holds its checksum). The binary goes to bin/ (gitignored). A second run with the
# same sources returns at once.
set -euo pipefail
cd "$(dirname "$0")"
VERSION=v0.4.0
if ! command -v go >/dev/null 2>&1; then
  echo "go-gomlx adapter: the go toolchain is not installed (need Go >= 1.26)" >&2
  exit 1
fi
stamp="$VERSION $(cat go.mod go.sum ./*.go | sha256sum | cut -d' ' -f1)"
if [ -x bin/adapter ] && [ "$(cat bin/.stamp 2>/dev/null)" = "$stamp" ]; then
  echo "go-gomlx adapter: github.com/gomlx/go-huggingface $VERSION (already built)"
  exit 0
fi
GOTOOLCHAIN=local go build -buildvcs=false -o bin/adapter .
echo "$stamp" > bin/.stamp
echo "go-gomlx adapter: github.com/gomlx/go-huggingface $VERSION"
