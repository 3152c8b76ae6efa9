#!/usr/bin/env bash
# Builds this backend into a component: ./build.sh [OUT.wasm]   (default: @NAME@.wasm here)
# Needs rustup's wasm32-wasip2 target: rustup target add wasm32-wasip2
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/@NAME@.wasm}")"
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    echo "the wasm32-wasip2 target is not installed; install it with: rustup target add wasm32-wasip2" >&2
    exit 127
fi
target_dir="${CARGO_TARGET_DIR:-$here/target}"
cd "$here"
cargo build --release --target wasm32-wasip2 --target-dir "$target_dir"
cp "$target_dir/wasm32-wasip2/release/@CRATE@.wasm" "$out"
echo "built $out"
