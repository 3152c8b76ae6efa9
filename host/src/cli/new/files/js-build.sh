#!/usr/bin/env bash
# Builds this backend into a component: ./build.sh [OUT.wasm]   (default: @NAME@.wasm here)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tools="${WASMCACHE_TOOLCHAINS:-@TOOLCHAINS@}"
componentize_js="$tools/js/node_modules/.bin/componentize-js"
if [ ! -x "$componentize_js" ]; then
    echo "componentize-js is not installed in $tools (set WASMCACHE_TOOLCHAINS to where it is);" >&2
    echo "install it with: @SETUP@ js" >&2
    exit 127
fi
out="$(realpath -m "${1:-$here/@NAME@.wasm}")"
# -d switches off the WASI features the backend does not use, so the component imports
# nothing but wasmcache's host interface.
"$componentize_js" "$here/backend.js" --wit "$here/wit" -n cache-backend-with-listing \
    -d stdio random clocks http fetch-event -o "$out"
echo "built $out"
