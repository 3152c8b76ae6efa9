#!/usr/bin/env bash
# Builds the hand-written WAT ring backend into a component.
#   guest-examples/wat/ring/build.sh [OUT.wasm]      (default: ring.wasm in this folder)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tools="${WASMCACHE_TOOLCHAINS:-$root/target/toolchains}"
wasm_tools="$tools/venv/bin/wasm-tools"
if [ ! -x "$wasm_tools" ]; then
    echo "wasm-tools is not installed; install it with: guest-examples/setup-toolchains.sh python" >&2
    exit 127
fi
out="$(realpath -m "${1:-$here/ring.wasm}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$wasm_tools" parse "$here/ring.wat" -o "$work/core.wasm"
"$wasm_tools" component embed "$root/wit" --world cache-backend-with-listing "$work/core.wasm" -o "$work/embedded.wasm"
"$wasm_tools" component new "$work/embedded.wasm" -o "$out"
