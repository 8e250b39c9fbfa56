#!/usr/bin/env bash
# Builds the adapter against DJL (ai.djl:api, pinned in pom.xml) from Maven Central into
# ./target (gitignored). Needs Java 17 and Maven. A second run with nothing changed returns
# at once; a rebuild with the artifacts already in ~/.m2 works offline (mvn -o).
set -euo pipefail
cd "$(dirname "$0")"
DJL_VERSION=0.38.0
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "java-djl adapter: $tool not found (needs Java 17 and Maven)" >&2; exit 1; }
done
stamp="$DJL_VERSION $(cat pom.xml src/main/java/safetensors/conformance/djl/*.java | sha256sum | cut -c1-16)"
if [ -f target/setup-stamp ] && [ "$(cat target/setup-stamp)" = "$stamp" ]; then
  echo "java-djl adapter: ai.djl:api $DJL_VERSION (already built)"
  exit 0
fi
# Maven prints colour resets even in quiet batch mode: its output is shown only on failure.
log=$(mktemp)
if ! mvn -q -B package >"$log" 2>&1; then
  sed -e 's/\x1b\[[0-9;]*m//g' "$log" >&2
  rm -f "$log"
  echo "java-djl adapter: mvn package failed" >&2
  exit 1
fi
rm -f "$log"
echo "$stamp" > target/setup-stamp
echo "java-djl adapter: ai.djl:api $DJL_VERSION"
