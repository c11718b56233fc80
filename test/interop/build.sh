#!/usr/bin/env bash
# Builds every Go program of test/interop/go/cmd/ into a cache outside the clone (go's own build cache makes a
# rebuild with nothing changed take a second). The tests look for the binaries there and skip, naming this
# script, when they are missing.
#
#   test/interop/build.sh            # binaries in ~/.cache/rendezvous-interop/bin
#   RENDEZVOUS_INTEROP_BIN=/dir test/interop/build.sh
set -euo pipefail
cd "$(dirname "$0")"

bin=${RENDEZVOUS_INTEROP_BIN:-$HOME/.cache/rendezvous-interop/bin}
mkdir -p "$bin"

if ! command -v go >/dev/null; then
  echo "build.sh: no go toolchain on PATH" >&2
  exit 1
fi

for dir in go/cmd/*/; do
  name=$(basename "$dir")
  started=$(date +%s)
  (cd go && go build -trimpath -o "$bin/$name" "./cmd/$name")
  echo "built $bin/$name ($(( $(date +%s) - started )) s)"
done
