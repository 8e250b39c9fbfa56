#!/usr/bin/env bash
# Builds the adapter against Jlama (com.github.tjake:jlama-core, pinned in pom.xml) from
# Maven Central into ./target (gitignored). jlama-core is Java 20 bytecode and wants the
# incubator vector module, so the build and the run use a JDK 21+: Temurin 25 at
# /usr/lib/jvm/temurin-25-jdk-amd64, or $JLAMA_JAVA_HOME. A second run with nothing changed
# returns at once; a rebuild with the artifacts already in ~/.m2 works offline (mvn -o).
set -euo pipefail
cd "$(dirname "$0")"
JLAMA_VERSION=0.8.4
export JAVA_HOME="${JLAMA_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
if [ ! -x "$JAVA_HOME/bin/javac" ]; then
  echo "java-jlama adapter: no JDK at $JAVA_HOME (needs JDK 21+; set JLAMA_JAVA_HOME)" >&2
  exit 1
fi
command -v mvn >/dev/null || { echo "java-jlama adapter: mvn not found (needs Maven)" >&2; exit 1; }
stamp="$JLAMA_VERSION $JAVA_HOME $(cat pom.xml src/main/java/safetensors/conformance/jlama/*.java | sha256sum | cut -c1-16)"
if [ -f target/setup-stamp ] && [ "$(cat target/setup-stamp)" = "$stamp" ]; then
  echo "java-jlama adapter: jlama-core $JLAMA_VERSION (already built)"
  exit 0
fi
# Maven prints colour resets even in quiet batch mode: its output is shown only on failure.
log=$(mktemp)
if ! mvn -q -B package >"$log" 2>&1; then
  sed -e 's/\x1b\[[0-9;]*m//g' "$log" >&2
  rm -f "$log"
  echo "java-jlama adapter: mvn package failed" >&2
  exit 1
fi
rm -f "$log"
echo "$JAVA_HOME" > target/java-home
echo "$stamp" > target/setup-stamp
echo "java-jlama adapter: jlama-core $JLAMA_VERSION"
