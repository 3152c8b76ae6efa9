#!/usr/bin/env bash
# Builds the JavaScript lru backend into a component.
#   guest-examples/js/lru/build.sh [OUT.wasm]      (default: lru.wasm in this folder)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tools="${WASMCACHE_TOOLCHAINS:-$root/target/toolchains}"
componentize_js="$tools/js/node_modules/.bin/componentize-js"
if [ ! -x "$componentize_js" ]; then
    echo "componentize-js is not installed; install it with: guest-examples/setup-toolchains.sh js" >&2
    exit 127
fi
out="$(realpath -m "${1:-$here/lru.wasm}")"
# -d switches off the WASI features the backend does not use, so the component imports
# nothing but wasmcache's host interface (the default build pulls in wasi:http).
"$componentize_js" "$here/backend.js" --wit "$root/wit" -n cache-backend-with-listing \
    -d stdio random clocks http fetch-event -o "$out"
