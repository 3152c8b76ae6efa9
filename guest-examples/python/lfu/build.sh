#!/usr/bin/env bash
# Builds the Python lfu backend into a component.
#   guest-examples/python/lfu/build.sh [OUT.wasm]      (default: lfu.wasm in this folder)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tools="${WASMCACHE_TOOLCHAINS:-$root/target/toolchains}"
componentize_py="$tools/venv/bin/componentize-py"
if [ ! -x "$componentize_py" ]; then
    echo "componentize-py is not installed; install it with: guest-examples/setup-toolchains.sh python" >&2
    exit 127
fi
out="$(realpath -m "${1:-$here/lfu.wasm}")"
cd "$here"
"$componentize_py" -d "$root/wit" -w cache-backend-with-listing componentize app -o "$out"
