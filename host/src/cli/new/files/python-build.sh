#!/usr/bin/env bash
# Builds this backend into a component: ./build.sh [OUT.wasm]   (default: @NAME@.wasm here)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tools="${WASMCACHE_TOOLCHAINS:-@TOOLCHAINS@}"
componentize_py="$tools/venv/bin/componentize-py"
if [ ! -x "$componentize_py" ]; then
    echo "componentize-py is not installed in $tools (set WASMCACHE_TOOLCHAINS to where it is);" >&2
    echo "install it with: @SETUP@ python" >&2
    exit 127
fi
out="$(realpath -m "${1:-$here/@NAME@.wasm}")"
cd "$here"
"$componentize_py" -d "$here/wit" -w cache-backend-with-listing componentize app -o "$out"
echo "built $out"
