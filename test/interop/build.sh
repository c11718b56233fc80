#!/usr/bin/env bash
# Builds the peers of the interop tests from the other implementations' own libraries, into a cache outside the
# clone so that a later run on the same machine does not rebuild from scratch (go's build cache and cargo's target
# directory make a rebuild with nothing changed take seconds):
#   - every Go program of test/interop/go/cmd/ (go-libp2p, waku-org/go-libp2p-rendezvous, go-libp2p-pubsub)
#   - the Rust peer of test/interop/rust/ (rust-libp2p with libp2p-rendezvous), as rendezvous-peer-rust
# The tests look for the binaries there and skip, naming this script, when they are missing. Prints each build's
# time.
#
#   test/interop/build.sh            # binaries in ~/.cache/rendezvous-interop/bin
#   RENDEZVOUS_INTEROP_BIN=/dir test/interop/build.sh
set -euo pipefail
cd "$(dirname "$0")"

cache=${RENDEZVOUS_INTEROP_CACHE:-$HOME/.cache/rendezvous-interop}
bin=${RENDEZVOUS_INTEROP_BIN:-$cache/bin}
mkdir -p "$bin" "$cache/go-out"

for tool in go cargo; do
  if ! command -v "$tool" >/dev/null; then
    echo "build.sh: no $tool on PATH" >&2
    exit 1
  fi
done

# a binary may be running (a test still using it): write beside it and rename over it, which never touches the
# running file, where writing into it fails with "Text file busy"
install_binary() {
  cp "$1" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}

for dir in go/cmd/*/; do
  name=$(basename "$dir")
  started=$(date +%s)
  (cd go && go build -trimpath -o "$cache/go-out/$name" "./cmd/$name")
  install_binary "$cache/go-out/$name" "$bin/$name"
  echo "built $bin/$name ($(( $(date +%s) - started )) s)"
done

# --locked: the committed Cargo.lock is what gets built, never a newer resolution
started=$(date +%s)
(cd rust && CARGO_TARGET_DIR="$cache/cargo-target" cargo build --locked --quiet)
install_binary "$cache/cargo-target/debug/rendezvous-peer-rust" "$bin/rendezvous-peer-rust"
echo "built $bin/rendezvous-peer-rust ($(( $(date +%s) - started )) s)"
