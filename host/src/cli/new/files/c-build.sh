#!/usr/bin/env bash
# Builds this backend into a component: ./build.sh [OUT.wasm]   (default: @NAME@.wasm here)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tools="${WASMCACHE_TOOLCHAINS:-@TOOLCHAINS@}"
wasm_tools="$tools/venv/bin/wasm-tools"
if ! command -v clang >/dev/null || [ ! -d /usr/include/wasm32-wasi ] || [ ! -x "$wasm_tools" ]; then
    echo "clang, wasi-libc or wasm-tools (in $tools; set WASMCACHE_TOOLCHAINS to where it is) is missing;" >&2
    echo "install them with: @SETUP@ c" >&2
    exit 127
fi
out="$(realpath -m "${1:-$here/@NAME@.wasm}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Werror \
    -Wno-unused-parameter -Wno-missing-field-initializers \
    "$here/backend.c" "$here/bindings/cache_backend_with_listing.c" -o "$work/core.wasm"
"$wasm_tools" component embed "$here/wit" --world cache-backend-with-listing "$work/core.wasm" -o "$work/embedded.wasm"
"$wasm_tools" component new "$work/embedded.wasm" -o "$out"
echo "built $out"
