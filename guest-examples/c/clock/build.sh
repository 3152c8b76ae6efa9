#!/usr/bin/env bash
# Builds the C clock backend into a component.
#   guest-examples/c/clock/build.sh [OUT.wasm]      (default: clock.wasm in this folder)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tools="${WASMCACHE_TOOLCHAINS:-$root/target/toolchains}"
wasm_tools="$tools/venv/bin/wasm-tools"
if ! command -v clang >/dev/null || [ ! -d /usr/include/wasm32-wasi ] || [ ! -x "$wasm_tools" ]; then
    echo "clang, wasi-libc or wasm-tools is missing; install them with: guest-examples/setup-toolchains.sh c" >&2
    exit 127
fi
out="$(realpath -m "${1:-$here/clock.wasm}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A reactor module (no main), optimised, from the backend and its generated bindings.
clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Werror \
    -Wno-unused-parameter -Wno-missing-field-initializers \
    "$here/backend.c" "$here/bindings/cache_backend_with_listing.c" -o "$work/core.wasm"
# Attach the world's types, then wrap the core module into a component.
"$wasm_tools" component embed "$root/wit" --world cache-backend-with-listing "$work/core.wasm" -o "$work/embedded.wasm"
"$wasm_tools" component new "$work/embedded.wasm" -o "$out"
